/**
 * The proof that a joining node holds an invite's secret. Pure.
 *
 * HMAC-SHA256 keyed by the secret, over a domain label, this TLS session's
 * exporter value, and every field of the request. Bound to the session, a
 * proof seen (by a node that terminated the joiner's TLS) cannot be used on
 * any other connection; bound to the fields, a key or name swapped in on the
 * way does not verify. The secret never crosses the wire, and with 120 bits
 * of it nothing here can be tested offline.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What the proof covers besides the exporter value. */
export interface ProofFields {
  readonly invite: string;
  readonly key: Uint8Array;
  readonly name: string;
  readonly listenPort: number;
}

const LABEL = 'wizard-enrol-proof-v1\0';

/** The proof for `fields` on a session with `exporter`. */
export function enrolProof(secret: Uint8Array, exporter: Uint8Array, fields: ProofFields): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(fields.listenPort);
  return createHmac('sha256', secret)
    .update(LABEL)
    .update(exporter)
    .update(fields.invite, 'ascii')
    .update(createHash('sha256').update(fields.key).digest())
    .update(createHash('sha256').update(fields.name, 'utf8').digest())
    .update(port)
    .digest();
}

/** Whether `proof` is the one for these fields, compared in constant time. */
export function proofHolds(secret: Uint8Array, exporter: Uint8Array, fields: ProofFields, proof: Uint8Array): boolean {
  const wanted = enrolProof(secret, exporter, fields);
  return proof.length === wanted.length && timingSafeEqual(wanted, proof);
}
