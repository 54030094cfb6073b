/**
 * The private CA that every Wizard node of one installation shares, and the
 * node certificates it issues. Pure: values in, PEM out, no file I/O.
 *
 * A node's identity is the SHA-256 of its certificate's DER (its node ID), not
 * any name inside the certificate: names are free text, the fingerprint is not.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { WizardError, describeError } from '../core/errors.js';

/** A certificate and its private key, both PEM. */
export interface PemPair {
  certPem: string;
  keyPem: string;
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
// Only an RSA key: node-forge cannot sign with anything else.
const RSA_BITS = 2048;

/** Creates a self-signed CA certificate and key, valid from an hour before `now` for 20 years. */
export function createCa(commonName: string, now: Date): PemPair {
  const keyPem = newRsaKeyPem();
  const key = forgeKey(keyPem, 'CA key');
  const subject = [{ name: 'commonName', value: sanitiseCommonName(commonName) }];
  const cert = newCertificate(key, now);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    // pathLen 0: the CA signs node certificates only, never another CA.
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** Issues a node certificate, for both TLS server and client use, signed by `ca`. */
export function issueNodeCert(ca: PemPair, nodeName: string, now: Date): PemPair {
  const caCert = forgeCert(ca.certPem, 'CA certificate');
  const caKey = forgeKey(ca.keyPem, 'CA key');
  if (!keyMatchesCert(ca.certPem, ca.keyPem)) {
    throw new WizardError('CONFIG', 'the CA key does not belong to the CA certificate');
  }
  const keyPem = newRsaKeyPem();
  const cert = newCertificate(forgeKey(keyPem, 'node key'), now);
  cert.setSubject([{ name: 'commonName', value: sanitiseCommonName(nodeName) }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    // Both: every node accepts connections and dials out; missing one gives INVALID_PURPOSE.
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: SAN_DNS_NAME }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
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
  return parseX509(certPem, 'certificate').checkPrivateKey(parsePrivateKey(keyPem));
}

function newRsaKeyPem(): string {
  // node:crypto, not forge: forge's pure-JS keygen takes seconds for 2048 bits.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function newCertificate(key: forge.pki.rsa.PrivateKey, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  cert.validity.notAfter = notAfter;
  return cert;
}

/** 16 random bytes as a positive DER INTEGER with no leading zero byte (RFC 5280 4.1.2.2). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  // Clear the sign bit and set the next one so the encoding is positive and exactly 16 bytes.
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
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

function parsePrivateKey(pem: string): ReturnType<typeof createPrivateKey> {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw unparsable('private key', err);
  }
}

function forgeCert(pem: string, what: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem);
  } catch (err) {
    throw unparsable(what, err);
  }
}

function forgeKey(pem: string, what: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(pem);
  } catch (err) {
    throw unparsable(what, err);
  }
}

function unparsable(what: string, err: unknown): WizardError {
  return new WizardError('CONFIG', `cannot parse the ${what} (not a valid RSA PEM): ${describeError(err)}`, {
    cause: err,
  });
}
