/**
 * `wizard join CODE`: makes this machine's home as `init` does, with a key
 * pair made here, and a certificate the inviting node's CA signs for it over
 * TLS pinned to the CA the code names. The home holds ca.crt, never ca.key.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { caFingerprintOf, isSignedBy, nodeIdOf, nodeIdOfDer, newNodeKey, spkiOfCert } from '../certs/ca.js';
import { writeCaCert, writeNodeCert } from '../certs/store.js';
import { addPeer, shareFolder } from '../config/edit.js';
import { configPath, ignorePath, parseOptionsFor, writeConfigText } from '../config/file.js';
import { parseConfig, renderNewConfig, type FolderConfig } from '../config/schema.js';
import { UsageError, WizardError } from '../core/errors.js';
import { DEFAULT_PORT } from '../node.js';
import type { EnrolGrantMessage, Message } from '../protocol/messages.js';
import { parseHostPort } from '../transport/address.js';
import { dialEnrol } from '../trust/enrol-dial.js';
import { enrolProof } from '../trust/enrol-proof.js';
import { EnrolChannel } from '../trust/enrol-wire.js';
import { inviteIdOf, parseInviteCode, PIN_BYTES } from '../trust/invite-code.js';
import { REFUSAL_TEXT, type InviteRefusal } from '../trust/invites.js';
import { printable } from './format.js';
import { certsDir, isInitialised } from './home.js';
import { IGNORE_TEMPLATE, parseFolderArg } from './init.js';

/** What `wizard join` was asked for. */
export interface JoinOptions {
  readonly home: string;
  readonly code: string;
  readonly name?: string;
  readonly listen?: string;
  /** `ID=PATH` strings as typed: where invited folders (or others) live here. */
  readonly folders?: readonly string[];
}

/** What joining gave. */
export interface JoinResult {
  readonly id: string;
  readonly home: string;
  readonly inviter: { readonly id: string; readonly name: string; readonly address: string };
  /** Folders shared with the inviter, and where they live here. */
  readonly folders: ReadonlyArray<{ readonly id: string; readonly path: string }>;
  /** Peers the inviter introduced. */
  readonly introduced: ReadonlyArray<{ readonly id: string; readonly name: string }>;
}

const ANSWER_TIMEOUT_MS = 20_000;

/** Joins the network of the code's inviter; writes the home only once the inviter has granted a certificate. */
export async function join(opts: JoinOptions): Promise<JoinResult> {
  const code = parseInviteCode(opts.code);
  const { home } = opts;
  if (isInitialised(home)) throw new UsageError(`${home} is already initialised; join with another --home, or use 'wizard pair' from this one`);
  const name = opts.name ?? os.hostname().slice(0, 64);
  const listen = opts.listen ?? '0.0.0.0:7842';
  const given = (opts.folders ?? []).map((f) => parseFolderArg(f));
  // Check the settings before spending the invite on them.
  parseConfig(renderNewConfig({ name, listen, folders: given }), configPath(home), parseOptionsFor(home, { homeDir: os.homedir() }));
  const listenPort = parseHostPort(listen, DEFAULT_PORT, { allowZero: true }).port;

  const { host, port } = parseHostPort(code.address, DEFAULT_PORT);
  const { socket, inviterCert } = await dialEnrol(host, port);
  const channel = new EnrolChannel(socket);
  try {
    const offer = await answer(channel, 'enrol-offer');
    const inviterPem = new X509Certificate(inviterCert).toString();
    // The pin first: nothing derived from the secret goes to a node of another network.
    if (!caFingerprintOf(offer.ca).subarray(0, PIN_BYTES).equals(code.caPin) || !isSignedBy(inviterPem, offer.ca)) {
      throw new UsageError(`the node at ${code.address} is not of the network this code is for (its CA differs from the one the code names): check the address, or ask for a new code`);
    }
    const key = newNodeKey();
    const fields = { invite: inviteIdOf(code.secret), key: key.spkiDer, name, listenPort };
    channel.send({ type: 'enrol-request', ...fields, proof: enrolProof(code.secret, channel.exporter(), fields) });
    const grant = await answer(channel, 'enrol-grant');
    const inviterId = nodeIdOfDer(inviterCert);
    if (grant.id !== inviterId || !isSignedBy(grant.cert, offer.ca) || !spkiOfCert(grant.cert).equals(key.spkiDer)) {
      throw new WizardError('PROTOCOL', `${code.address} granted a certificate that is not for this machine's key, or not from its CA; nothing was written`);
    }
    return writeJoinedHome({ home, name, listen, given, caPem: offer.ca, certPem: grant.cert, keyPem: key.keyPem, grant, inviterAddress: code.address });
  } finally {
    channel.end();
  }
}

/** The next message, which must be of `type`; a close from the inviter becomes the one line to show. */
async function answer<T extends 'enrol-offer' | 'enrol-grant'>(channel: EnrolChannel, type: T): Promise<Extract<Message, { type: T }>> {
  const msg = await channel.receive(ANSWER_TIMEOUT_MS).catch((err: unknown) => {
    throw new WizardError('UNREACHABLE', `the inviting node did not answer: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (msg.type === 'close') throw refusal(msg.reason);
  if (msg.type !== type) throw new WizardError('PROTOCOL', `the inviting node sent ${msg.type} where ${type} was due`);
  return msg as Extract<Message, { type: T }>;
}

/** The inviter's refusal as the line to print: our own words for the refusals we know, its words escaped otherwise. */
function refusal(reason: string): UsageError {
  const known = /^invite refused \(([a-z-]+)\)$/.exec(reason)?.[1];
  if (known !== undefined && Object.hasOwn(REFUSAL_TEXT, known)) return new UsageError(REFUSAL_TEXT[known as InviteRefusal]);
  return new UsageError(`the inviting node refused: ${printable(reason)}`);
}

interface JoinedHome {
  readonly home: string;
  readonly name: string;
  readonly listen: string;
  readonly given: readonly FolderConfig[];
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly grant: EnrolGrantMessage;
  readonly inviterAddress: string;
}

/** Writes the home: certs (no CA key), a config with the inviter and introduced peers, each granted folder shared with them. */
function writeJoinedHome(j: JoinedHome): JoinResult {
  const { home, grant } = j;
  const byId = new Map(j.given.map((f) => [f.id, f]));
  for (const id of grant.folders) if (!byId.has(id)) byId.set(id, { id, path: defaultPathOf(id), shareWith: [], mode: 'send-receive' });
  let text = renderNewConfig({ name: j.name, listen: j.listen, folders: [...byId.values()] });
  text = addPeer(text, { id: grant.id, name: grant.name, address: j.inviterAddress });
  for (const id of grant.folders) text = shareFolder(text, id, grant.id);
  for (const peer of grant.peers) {
    if (peer.id === grant.id) continue;
    text = addPeer(text, { id: peer.id, name: peer.name, address: peer.address });
    for (const id of peer.folders) if (byId.has(id)) text = shareFolder(text, id, peer.id);
  }
  const config = parseConfig(text, configPath(home), parseOptionsFor(home, { homeDir: os.homedir() }));
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const certs = certsDir(home);
  writeCaCert(certs, j.caPem);
  writeNodeCert(certs, { certPem: j.certPem, keyPem: j.keyPem });
  writeConfigText(home, text);
  if (!existsSync(ignorePath(home))) writeFileSync(ignorePath(home), IGNORE_TEMPLATE, { mode: 0o600 });
  return {
    id: nodeIdOf(j.certPem),
    home,
    inviter: { id: grant.id, name: grant.name, address: j.inviterAddress },
    folders: config.folders.filter((f) => grant.folders.includes(f.id)).map((f) => ({ id: f.id, path: f.path })),
    introduced: grant.peers.filter((p) => p.id !== grant.id).map((p) => ({ id: p.id, name: p.name })),
  };
}

/** Where an invited folder goes when the user did not say: the default folder where init puts it, others beside it. */
function defaultPathOf(id: string): string {
  return id === 'default' ? '~/Wizard' : `~/Wizard-${id}`;
}
