/**
 * One try at enrolling with one candidate address: the code's own, or a node
 * heard on the LAN (cli/join.ts decides the order). The code decides who
 * the inviter is, never the candidate: the offered CA must match the code's
 * pin and have signed the candidate's TLS certificate before anything is
 * sent, so a node of another network (or a forged announcement) learns
 * nothing and costs one dial; a node of the right network that does not
 * hold this invite says so ('unknown', or that it holds no CA key) and the
 * joiner moves on. Only the inviter's own word on this invite (used,
 * expired, withdrawn, wrong proof) ends the search.
 */
import { X509Certificate } from 'node:crypto';
import { caFingerprintOf, isSignedBy, nodeIdOfDer, spkiOfCert } from '../certs/ca.js';
import { describeError, UsageError, WizardError } from '../core/errors.js';
import { printable } from '../core/printable.js';
import { DEFAULT_PORT } from '../node.js';
import type { EnrolGrantMessage, EnrolOfferMessage, Message } from '../protocol/messages.js';
import { parseHostPort } from '../transport/address.js';
import { dialEnrol } from './enrol-dial.js';
import { enrolProof } from './enrol-proof.js';
import { EnrolChannel } from './enrol-wire.js';
import { type InviteCode, inviteIdOf, PIN_BYTES } from './invite-code.js';
import { REFUSAL_TEXT, type InviteRefusal } from './invites.js';

/** What the joiner brings to every candidate. */
export interface JoinerAsk {
  readonly code: InviteCode;
  /** The public key made for this machine (SPKI DER): the same at every candidate. */
  readonly spkiDer: Buffer;
  readonly name: string;
  readonly listenPort: number;
}

/** Why a candidate was not the inviter. */
export type MissReason = 'unreachable' | 'other-network' | 'not-inviter';

/** What one try gave. */
export type Attempt =
  | { readonly ok: true; readonly address: string; readonly offer: EnrolOfferMessage; readonly grant: EnrolGrantMessage }
  | { readonly ok: false; readonly address: string; readonly why: MissReason; readonly message: string };

/** The refusals that are the inviter's last word on this invite: no other candidate can do better. */
const FINAL: ReadonlySet<string> = new Set<InviteRefusal>(['used', 'expired', 'burned', 'wrong-proof']);

const ANSWER_TIMEOUT_MS = 20_000;

/** The inviter's last word on this invite (used, expired, withdrawn, wrong proof): the search ends with its line, as a UsageError. */
class FinalRefusal extends UsageError {}

/**
 * Tries `address`. Resolves with the grant, or with why it was not the
 * inviter; throws a UsageError (one line) when the inviter refused the
 * invite itself (used, expired, withdrawn, wrong proof), and a PROTOCOL error when it granted a certificate that is not
 * for this key or not from its CA (nothing is written then).
 */
export async function tryInviter(address: string, ask: JoinerAsk, dialTimeoutMs?: number): Promise<Attempt> {
  const miss = (why: MissReason, message: string): Attempt => ({ ok: false, address, why, message });
  let dialed: Awaited<ReturnType<typeof dialEnrol>>;
  try {
    const { host, port } = parseHostPort(address, DEFAULT_PORT);
    dialed = await dialEnrol(host, port, dialTimeoutMs);
  } catch (err) {
    return miss('unreachable', describeError(err));
  }
  const channel = new EnrolChannel(dialed.socket);
  try {
    let offer: EnrolOfferMessage;
    try {
      offer = await answer(channel, 'enrol-offer');
    } catch (err) {
      if (err instanceof UsageError) return miss('not-inviter', `the node at ${address} is not the inviter (${err.message})`);
      return miss('unreachable', describeError(err));
    }
    const inviterPem = new X509Certificate(dialed.inviterCert).toString();
    // The pin first: nothing derived from the secret goes to a node of another network.
    if (!caFingerprintOf(offer.ca).subarray(0, PIN_BYTES).equals(ask.code.caPin) || !isSignedBy(inviterPem, offer.ca)) {
      return miss('other-network', `the node at ${address} is not of the network this code is for (its CA differs from the one the code names)`);
    }
    const fields = { invite: inviteIdOf(ask.code.secret), key: ask.spkiDer, name: ask.name, listenPort: ask.listenPort };
    channel.send({ type: 'enrol-request', ...fields, proof: enrolProof(ask.code.secret, channel.exporter(), fields) });
    let grant: EnrolGrantMessage;
    try {
      grant = await answer(channel, 'enrol-grant');
    } catch (err) {
      if (err instanceof FinalRefusal) throw new UsageError(err.message);
      return miss('not-inviter', `the node at ${address} is not the inviter (${err instanceof UsageError ? err.message : describeError(err)})`);
    }
    if (grant.id !== nodeIdOfDer(dialed.inviterCert) || !isSignedBy(grant.cert, offer.ca) || !spkiOfCert(grant.cert).equals(ask.spkiDer)) {
      throw new WizardError('PROTOCOL', `${address} granted a certificate that is not for this machine's key, or not from its CA; nothing was written`);
    }
    return { ok: true, address, offer, grant };
  } finally {
    channel.end();
  }
}

/** The next message, which must be of `type`; a close becomes the one line to show (a FinalRefusal when it ends the search). */
async function answer<T extends 'enrol-offer' | 'enrol-grant'>(channel: EnrolChannel, type: T): Promise<Extract<Message, { type: T }>> {
  const msg = await channel.receive(ANSWER_TIMEOUT_MS).catch((err: unknown) => {
    throw new WizardError('UNREACHABLE', `the inviting node did not answer: ${describeError(err)}`);
  });
  if (msg.type === 'close') throw refusal(msg.reason);
  if (msg.type !== type) throw new WizardError('PROTOCOL', `the inviting node sent ${msg.type} where ${type} was due`);
  return msg as Extract<Message, { type: T }>;
}

/** The refusal as the line to print: our own words for the refusals we know, its words escaped otherwise. */
function refusal(reason: string): UsageError {
  const known = /^invite refused \(([a-z-]+)\)$/.exec(reason)?.[1];
  // Said by a node of the network that is not the inviter (it holds other invites, or none): the search goes on.
  if (known === 'unknown') return new UsageError('it does not know this code');
  if (known !== undefined && Object.hasOwn(REFUSAL_TEXT, known)) {
    const line = REFUSAL_TEXT[known as InviteRefusal];
    return FINAL.has(known) ? new FinalRefusal(line) : new UsageError(line);
  }
  return new UsageError(`it refused: ${printable(reason)}`);
}
