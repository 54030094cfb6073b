/**
 * Validation of the messages of enrolment, introductions and revocation
 * (docs/PROTOCOL.md sections 7 to 9), as validate.ts does the rest: each rule
 * its own error, and only checked fields copied out.
 */
import { ProtocolError } from '../core/errors.js';
import { array, binary, field, folderId, hex, nodeName, plainObject, safeUint, string, type Fields } from './fields.js';
import {
  LIMITS,
  type EnrolGrantMessage,
  type EnrolOfferMessage,
  type EnrolRequestMessage,
  type IntroduceMessage,
  type IntroducedPeer,
  type RevocationsMessage,
} from './messages.js';

const NODE_ID = /^[0-9a-f]{64}$/;
const INVITE_ID = /^[0-9a-f]{32}$/;
const PROOF_BYTES = 32;
const MAX_PORT = 65535;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;

/** Validates an enrolment offer. */
export function validateEnrolOffer(value: unknown): EnrolOfferMessage {
  const m = plainObject(value, 'enrol-offer');
  return { type: 'enrol-offer', ca: certPem(m, 'ca', 'enrol-offer') };
}

/** Validates an enrolment request. */
export function validateEnrolRequest(value: unknown): EnrolRequestMessage {
  const ctx = 'enrol-request';
  const m = plainObject(value, ctx);
  const proof = binary(m, 'proof', ctx, PROOF_BYTES);
  if (proof.length !== PROOF_BYTES) throw new ProtocolError(`${ctx}: proof is ${proof.length} bytes, not ${PROOF_BYTES}`);
  return {
    type: 'enrol-request',
    invite: hex(m, 'invite', ctx, INVITE_ID, '32 lowercase hex digits'),
    key: binary(m, 'key', ctx, LIMITS.maxSpkiBytes),
    name: nodeName(m, ctx),
    listenPort: port(m, ctx),
    proof,
  };
}

/** Validates an enrolment grant. */
export function validateEnrolGrant(value: unknown): EnrolGrantMessage {
  const ctx = 'enrol-grant';
  const m = plainObject(value, ctx);
  return {
    type: 'enrol-grant',
    cert: certPem(m, 'cert', ctx),
    id: hex(m, 'id', ctx, NODE_ID, '64 lowercase hex digits'),
    name: nodeName(m, ctx),
    folders: folderIds(m, ctx),
    peers: array(m, 'peers', ctx, LIMITS.maxIntroducedPeers).map((p) => introducedPeer(p, `${ctx} peer`)),
  };
}

/** Validates a revocation list message (its signature and content are checked by trust/revocation-list.ts). */
export function validateRevocations(value: unknown): RevocationsMessage {
  const ctx = 'revocations';
  const m = plainObject(value, ctx);
  return {
    type: 'revocations',
    list: binary(m, 'list', ctx, LIMITS.maxRevocationListBytes),
    signature: binary(m, 'signature', ctx, LIMITS.maxSignatureBytes),
  };
}

/** Validates an introduction. */
export function validateIntroduce(value: unknown): IntroduceMessage {
  const ctx = 'introduce';
  const m = plainObject(value, ctx);
  return { type: 'introduce', peer: introducedPeer(field(m, 'peer'), `${ctx} peer`) };
}

function introducedPeer(value: unknown, ctx: string): IntroducedPeer {
  const p = plainObject(value, ctx);
  const address = string(p, 'address', ctx);
  if (address.length > LIMITS.maxAddressChars) throw new ProtocolError(`${ctx}: address longer than ${LIMITS.maxAddressChars} characters`);
  if (CONTROL_CHAR.test(address) || /\s/.test(address)) throw new ProtocolError(`${ctx}: address contains a space or control character`);
  return { id: hex(p, 'id', ctx, NODE_ID, '64 lowercase hex digits'), name: nodeName(p, ctx), address, folders: folderIds(p, ctx) };
}

function folderIds(m: Fields, ctx: string): string[] {
  const raw = array(m, 'folders', ctx, LIMITS.maxInviteFolders);
  const ids = raw.map((id) => folderId({ id }, 'id', `${ctx} folder`));
  if (new Set(ids).size !== ids.length) throw new ProtocolError(`${ctx}: a folder is listed twice`);
  return ids;
}

function certPem(m: Fields, key: string, ctx: string): string {
  const pem = string(m, key, ctx);
  if (pem.length > LIMITS.maxCertPemChars) throw new ProtocolError(`${ctx}: ${key} longer than ${LIMITS.maxCertPemChars} characters`);
  if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/.test(pem)) {
    throw new ProtocolError(`${ctx}: ${key} is not one PEM certificate`);
  }
  return pem;
}

function port(m: Fields, ctx: string): number {
  const value = safeUint(m, 'listenPort', ctx);
  if (value > MAX_PORT) throw new ProtocolError(`${ctx}: listenPort ${value} is above ${MAX_PORT}`);
  return value;
}
