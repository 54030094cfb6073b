/**
 * The private CA that every Wizard node of one installation shares, and the
 * node certificates it issues. Pure: values in, PEM out, no file I/O.
 *
 * A node's identity is the SHA-256 of its certificate's DER (its node ID), not
 * any name inside the certificate: names are free text, the fingerprint is not.
 *
 * New CAs and nodes get ECDSA P-256 keys: a listener signs in every
 * handshake before the client has proved anything, and an ECDSA P-256
 * signature costs a small fraction of an RSA-2048 one, so a flood of
 * handshakes buys an attacker far less. Keys made by earlier versions
 * (RSA-2048, through node-forge) keep working: a CA of either kind issues
 * nodes of either kind, and TLS 1.3 lets an RSA node and an ECDSA node
 * authenticate each other. Certificates are built in DER here (der.ts) and
 * signed with node:crypto, which signs with both kinds.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { WizardError, describeError } from '../core/errors.js';
import {
  TAG,
  bitString,
  boolean,
  children,
  context,
  namedBits,
  nullValue,
  octetString,
  oid,
  readValue,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

/** A certificate and its private key, both PEM. */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** The kinds of key Wizard makes: ECDSA P-256 for everything new; RSA-2048 as earlier versions made them. */
export type KeyType = 'ecdsa-p256' | 'rsa-2048';

/** The key type of new CAs and nodes. */
export const DEFAULT_KEY_TYPE: KeyType = 'ecdsa-p256';

/** Options for making a certificate. */
export interface CertOptions {
  /** The new key's type; DEFAULT_KEY_TYPE unless a node must be made as an earlier version made it. */
  readonly keyType?: KeyType;
}

const HOUR_MS = 60 * 60 * 1000;
// Backdated so a peer whose clock runs a little behind still accepts a fresh certificate.
const BACKDATE_MS = HOUR_MS;
// Long-lived on purpose: there is no renewal machinery, and revocation is by node ID.
const VALIDITY_YEARS = 20;
// X.520 upper bound for a common name.
const MAX_CN_CHARS = 64;
const FALLBACK_CN = 'wizard-node';
// Hostnames are never checked (identity is the fingerprint); a SAN keeps strict TLS stacks happy.
const SAN_DNS_NAME = 'wizard';
const RSA_BITS = 2048;

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
} as const;

/** keyUsage bits (RFC 5280 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** Creates a self-signed CA certificate and key, valid from an hour before `now` for 20 years. */
export function createCa(commonName: string, now: Date, opts: CertOptions = {}): PemPair {
  const key = newKeyPair(opts.keyType ?? DEFAULT_KEY_TYPE);
  const name = distinguishedName(commonName);
  const spki = spkiOf(key.publicKey);
  const certPem = signed(
    {
      now,
      issuer: name,
      subject: name,
      spki,
      extensions: [
        // pathLen 0: the CA signs node certificates only, never another CA.
        extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
        extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
        extension(OID.subjectKeyIdentifier, false, octetString(keyIdOf(spki))),
      ],
    },
    key.privateKey,
  );
  return { certPem, keyPem: pemOf(key.privateKey) };
}

/** Issues a node certificate, for both TLS server and client use, signed by `ca` (whatever its key type). */
export function issueNodeCert(ca: PemPair, nodeName: string, now: Date, opts: CertOptions = {}): PemPair {
  const keyType = opts.keyType ?? DEFAULT_KEY_TYPE;
  const key = newKeyPair(keyType);
  return { certPem: certifyKey(ca, nodeName, key.publicKey, now), keyPem: pemOf(key.privateKey) };
}

/**
 * Issues a node certificate for a public key made elsewhere (a joining node's
 * SubjectPublicKeyInfo, DER), signed by `ca`. Only an ECDSA P-256 key is
 * taken: the key comes from a node that has proved only that it holds an
 * invite, so nothing else it might send is parsed or signed. Throws a
 * 'PROTOCOL' WizardError for any other key.
 */
export function issueNodeCertForKey(ca: PemPair, nodeName: string, spkiDer: Uint8Array, now: Date): string {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (err) {
    throw new WizardError('PROTOCOL', `the joining node's public key cannot be read: ${describeError(err)}`, { cause: err });
  }
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new WizardError('PROTOCOL', `the joining node's public key is not ECDSA P-256 (got ${publicKey.asymmetricKeyType ?? 'unknown'})`);
  }
  return certifyKey(ca, nodeName, publicKey, now);
}

/** A new ECDSA P-256 key pair for a joining node: the private key PEM, and the public key as SPKI DER to send. */
export function newNodeKey(): { keyPem: string; spkiDer: Buffer } {
  const key = newKeyPair('ecdsa-p256');
  return { keyPem: pemOf(key.privateKey), spkiDer: spkiOf(key.publicKey) };
}

/** The CA's fingerprint as an invite carries it: SHA-256 of the CA certificate's DER. */
export function caFingerprintOf(caPem: string): Buffer {
  return createHash('sha256').update(parseX509(caPem, 'CA certificate').raw).digest();
}

/** The SPKI DER of the public key in a certificate. */
export function spkiOfCert(certPem: string): Buffer {
  return spkiOf(parseX509(certPem, 'certificate').publicKey);
}

function certifyKey(ca: PemPair, nodeName: string, publicKey: KeyObject, now: Date): string {
  const caParts = caPartsOf(ca.certPem);
  if (!keyMatchesCert(ca.certPem, ca.keyPem)) {
    throw new WizardError('CONFIG', 'the CA key does not belong to the CA certificate');
  }
  const spki = spkiOf(publicKey);
  const usages = publicKey.asymmetricKeyType === 'rsa' ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment] : [KEY_USAGE.digitalSignature];
  return signed(
    {
      now,
      // The CA's own name, byte for byte: chain building compares it with the CA's subject.
      issuer: caParts.subject,
      subject: distinguishedName(nodeName),
      spki,
      extensions: [
        extension(OID.basicConstraints, true, sequence()),
        extension(OID.keyUsage, true, namedBits(usages)),
        // Both: every node accepts connections and dials out; missing one gives INVALID_PURPOSE.
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth), oid(OID.clientAuth))),
        extension(OID.subjectAltName, false, sequence(context(2, Buffer.from(SAN_DNS_NAME, 'ascii'), false))),
        extension(OID.subjectKeyIdentifier, false, octetString(keyIdOf(spki))),
        extension(OID.authorityKeyIdentifier, false, sequence(context(0, caParts.keyId, false))),
      ],
    },
    parsePrivateKey(ca.keyPem, 'CA key'),
  );
}

/** The type of the key in a certificate or private key PEM, when it is one Wizard makes. */
export function keyTypeOf(pem: string): KeyType | undefined {
  const key = pem.includes('PRIVATE KEY') ? parsePrivateKey(pem, 'private key') : parseX509(pem, 'certificate').publicKey;
  if (key.asymmetricKeyType === 'rsa') return 'rsa-2048';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return undefined;
}

/** The node ID of a PEM certificate: lowercase hex SHA-256 of its DER, 64 characters. */
export function nodeIdOf(certPem: string): string {
  return nodeIdOfDer(parseX509(certPem, 'certificate').raw);
}

/** The node ID of a DER certificate, as presented in a TLS handshake. */
export function nodeIdOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** A node ID cut short for messages: enough to tell nodes apart, short enough to read. */
export function shortNodeId(nodeId: string): string {
  return `${nodeId.slice(0, 12)}…`;
}

/** True when `certPem` was issued and signed by the CA certificate `caPem`. */
export function isSignedBy(certPem: string, caPem: string): boolean {
  const cert = parseX509(certPem, 'certificate');
  const ca = parseX509(caPem, 'CA certificate');
  // checkIssued compares names only; verify proves the CA's key made the signature.
  return ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** True when `keyPem` is the private key of the certificate `certPem`. */
export function keyMatchesCert(certPem: string, keyPem: string): boolean {
  return parseX509(certPem, 'certificate').checkPrivateKey(parsePrivateKey(keyPem, 'private key'));
}

/** What goes into a certificate besides its serial number and signature. */
interface CertContent {
  readonly now: Date;
  /** DER of the issuer's Name. */
  readonly issuer: Buffer;
  /** DER of the subject's Name. */
  readonly subject: Buffer;
  /** DER of the subject's SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** DER of each Extension. */
  readonly extensions: readonly Buffer[];
}

/** The certificate for `content`, signed by `signer` (RFC 5280 4.1), as PEM. */
function signed(content: CertContent, signer: KeyObject): string {
  const { algorithm, digest } = signatureAlgorithmOf(signer);
  const notAfter = new Date(content.now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  const tbs = sequence(
    context(0, smallInteger(2), true), // version: v3
    unsignedInteger(randomSerial()),
    algorithm,
    content.issuer,
    sequence(time(new Date(content.now.getTime() - BACKDATE_MS)), time(notAfter)),
    content.subject,
    content.spki,
    context(3, sequence(...content.extensions), true),
  );
  // ECDSA signatures come out DER-encoded (Ecdsa-Sig-Value), as X.509 wants them.
  const signature = sign(digest, tbs, signer);
  const der = sequence(tbs, algorithm, bitString(signature));
  const base64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}

/** The AlgorithmIdentifier and digest of signatures by `key`. */
function signatureAlgorithmOf(key: KeyObject): { algorithm: Buffer; digest: string } {
  if (key.asymmetricKeyType === 'rsa') return { algorithm: sequence(oid(OID.sha256WithRsa), nullValue()), digest: 'sha256' };
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  if (curve === 'prime256v1') return { algorithm: sequence(oid(OID.ecdsaWithSha256)), digest: 'sha256' };
  if (curve === 'secp384r1') return { algorithm: sequence(oid(OID.ecdsaWithSha384)), digest: 'sha384' };
  const kind = curve === undefined ? (key.asymmetricKeyType ?? 'unknown') : `EC ${curve}`;
  throw new WizardError('CONFIG', `the CA key is a ${kind} key; Wizard signs with RSA or ECDSA P-256/P-384 CA keys only`);
}

/** One Extension: its OID, whether it is critical, and its value's DER. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** A Name with one common name. */
function distinguishedName(commonName: string): Buffer {
  return sequence(set(sequence(oid(OID.commonName), utf8String(sanitiseCommonName(commonName)))));
}

function spkiOf(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** A key identifier: the SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1), as node-forge made them. */
function keyIdOf(spki: Buffer): Buffer {
  const [, key] = children(readValue(spki).content);
  if (key?.tag !== TAG.bitString) throw new WizardError('INTERNAL', 'a public key without its bits');
  return createHash('sha1').update(key.content.subarray(1)).digest();
}

/** The parts of a CA certificate an issued one refers to: its subject Name's DER, and its key identifier. */
function caPartsOf(certPem: string): { subject: Buffer; keyId: Buffer } {
  const der = parseX509(certPem, 'CA certificate').raw;
  try {
    const [tbs] = children(readValue(der).content);
    const fields = children(tbs?.content ?? Buffer.alloc(0));
    // version [0] is optional; then serial, signature algorithm, issuer, validity, subject, key, ...
    const at = fields[0]?.tag === 0xa0 ? 1 : 0;
    const subject = fields[at + 4];
    const spki = fields[at + 5];
    if (subject === undefined || spki === undefined) throw new Error('too few fields');
    return { subject: subject.whole, keyId: subjectKeyIdOf(fields.slice(at + 6)) ?? keyIdOf(spki.whole) };
  } catch (err) {
    throw unparsable('CA certificate', err);
  }
}

/** The subjectKeyIdentifier among a TBSCertificate's trailing fields, if it has one. */
function subjectKeyIdOf(trailing: readonly { tag: number; content: Buffer }[]): Buffer | undefined {
  const wrapped = trailing.find((f) => f.tag === 0xa3);
  if (wrapped === undefined) return undefined;
  const [list] = children(wrapped.content);
  const wanted = oid(OID.subjectKeyIdentifier);
  for (const ext of children(list?.content ?? Buffer.alloc(0))) {
    const parts = children(ext.content);
    if (!parts[0]?.whole.equals(wanted)) continue;
    const value = parts.at(-1);
    if (value?.tag !== TAG.octetString) return undefined;
    const inner = readValue(value.content);
    return inner.tag === TAG.octetString ? Buffer.from(inner.content) : undefined;
  }
  return undefined;
}

function newKeyPair(type: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  return type === 'rsa-2048'
    ? generateKeyPairSync('rsa', { modulusLength: RSA_BITS })
    : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function pemOf(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** 16 random bytes for a positive DER INTEGER with no leading zero byte (RFC 5280 4.1.2.2). */
function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  // Clear the sign bit and set the next one so the encoding is positive and exactly 16 bytes.
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes;
}

/** Keeps a name to characters every X.509 parser prints safely, within the CN length limit. */
function sanitiseCommonName(name: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[^A-Za-z0-9 ._-]+/g, '-')
    .trim()
    .slice(0, MAX_CN_CHARS)
    .trim();
  return cleaned === '' ? FALLBACK_CN : cleaned;
}

function parseX509(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw unparsable(what, err);
  }
}

function parsePrivateKey(pem: string, what: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw unparsable(what, err);
  }
}

function unparsable(what: string, err: unknown): WizardError {
  return new WizardError('CONFIG', `cannot parse the ${what} (not a valid PEM): ${describeError(err)}`, { cause: err });
}
