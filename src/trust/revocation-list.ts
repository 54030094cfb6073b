/**
 * The revocation list: the node IDs the CA's holder has revoked, with a
 * version that only goes up, signed with the CA key. Pure: values in, bytes
 * or verdicts out. TRUST.md section 4 and docs/PROTOCOL.md section 9.
 *
 * The encoding is canonical (fixed key order, IDs sorted, no spaces) and a
 * list whose bytes are not the canonical encoding of what they say is
 * refused, so one list has exactly one signed form and "same version,
 * different bytes" can only mean two lists were signed with one version.
 */
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { caFingerprintOf } from '../certs/ca.js';
import { LIMITS } from '../protocol/messages.js';

/** A revocation list's content. */
export interface RevocationList {
  /** Hex SHA-256 of the CA certificate: a list of one network means nothing in another. */
  readonly network: string;
  /** Starts at 1; a list replaces only a list of a lower version. */
  readonly version: number;
  readonly issuedAtMs: number;
  /** Revoked node IDs, sorted, unique. */
  readonly revoked: readonly string[];
}

/** A list with its canonical bytes and the CA's signature over them. */
export interface SignedList {
  readonly list: RevocationList;
  readonly bytes: Buffer;
  readonly signature: Buffer;
}

const NODE_ID = /^[0-9a-f]{64}$/;

/** The network ID of a CA certificate, as lists carry it. */
export function networkOf(caPem: string): string {
  return caFingerprintOf(caPem).toString('hex');
}

/** The canonical bytes of a list. */
export function encodeList(list: RevocationList): Buffer {
  const revoked = [...new Set(list.revoked.map((id) => id.toLowerCase()))].sort();
  return Buffer.from(JSON.stringify({ network: list.network, version: list.version, issuedAtMs: list.issuedAtMs, revoked }), 'utf8');
}

/** Signs `list` with the CA key (PEM). */
export function signList(list: RevocationList, caKeyPem: string): SignedList {
  const bytes = encodeList(list);
  const key = createPrivateKey(caKeyPem);
  // sha256 for both kinds: ECDSA (DER signature) and RSA (PKCS#1 v1.5).
  const signature = sign('sha256', bytes, key);
  return { list: decode(bytes) as RevocationList, bytes, signature };
}

/**
 * The list in `bytes` when `signature` is the CA's over them, they are the
 * canonical encoding, and the list is for this CA's network; otherwise why not.
 */
export function openList(bytes: Uint8Array, signature: Uint8Array, caPem: string): SignedList | string {
  const data = Buffer.from(bytes);
  const key = createPublicKey(new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'pem' }));
  let good: boolean;
  try {
    good = verify('sha256', data, key, signature);
  } catch {
    good = false;
  }
  if (!good) return 'its signature is not the CA key';
  const list = decode(data);
  if (typeof list === 'string') return list;
  if (list.network !== networkOf(caPem)) return 'it is for another network (another CA)';
  if (!encodeList(list).equals(data)) return 'it is not in canonical form';
  return { list, bytes: data, signature: Buffer.from(signature) };
}

/** How an offered list compares with the one held. */
export type ListVerdict = 'newer' | 'same' | 'older' | 'conflict';

/** Newer replaces; same version and bytes is nothing new; same version and other bytes is two lists signed with one version. */
export function compareLists(held: SignedList | undefined, offered: SignedList): ListVerdict {
  if (held === undefined || offered.list.version > held.list.version) return 'newer';
  if (offered.list.version < held.list.version) return 'older';
  return offered.bytes.equals(held.bytes) ? 'same' : 'conflict';
}

function decode(bytes: Buffer): RevocationList | string {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'it is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a map';
  const v = value as Record<string, unknown>;
  const { network, version, issuedAtMs, revoked } = v;
  if (typeof network !== 'string' || !NODE_ID.test(network)) return 'its network is not 64 hex digits';
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) return 'its version is not a whole number from 1';
  if (typeof issuedAtMs !== 'number' || !Number.isSafeInteger(issuedAtMs) || issuedAtMs < 0) return 'its issuedAtMs is not a time';
  if (!Array.isArray(revoked) || revoked.length > LIMITS.maxRevokedNodes) return `its revoked is not a list of at most ${LIMITS.maxRevokedNodes}`;
  if (!revoked.every((id): id is string => typeof id === 'string' && NODE_ID.test(id))) return 'its revoked holds something other than node IDs';
  return { network, version, issuedAtMs, revoked };
}
