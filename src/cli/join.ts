/**
 * `wizard join CODE`: makes this machine's home as `init` does, with a key
 * pair made here, and a certificate the inviting node's CA signs for it over
 * TLS pinned to the CA the code names. The home holds ca.crt, never ca.key.
 *
 * Where the inviter is: at the code's address, or, when that does not answer
 * or is not the inviter (a laptop whose address changed) or the code names
 * none (`wizard invite --lan`), at one of the nodes heard on the LAN. Which
 * one is decided by the code alone (trust/enrol-attempt.ts), never by what a
 * node announces.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { nodeIdOf, newNodeKey } from '../certs/ca.js';
import { writeCaCert, writeNodeCert } from '../certs/store.js';
import { addPeer, shareFolder } from '../config/edit.js';
import { configPath, ignorePath, parseOptionsFor, writeConfigText } from '../config/file.js';
import { parseConfig, renderNewConfig, type FolderConfig } from '../config/schema.js';
import { systemClock } from '../core/clock.js';
import { describeError, UsageError, WizardError } from '../core/errors.js';
import { DISCOVERY_PORT } from '../discovery/announcement.js';
import { LanSearch } from '../discovery/lan-search.js';
import { DEFAULT_PORT } from '../node.js';
import type { EnrolGrantMessage } from '../protocol/messages.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { type Attempt, type JoinerAsk, tryInviter } from '../trust/enrol-attempt.js';
import { parseInviteCode } from '../trust/invite-code.js';
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
  /** Look for the inviter on the LAN when the code names no address or its address is not the inviter (default true). */
  readonly lan?: boolean;
  /** How long to look on the LAN (LAN_SEARCH_MS by default). */
  readonly lanSearchMs?: number;
  /** Told what the join is doing when it takes a while (the LAN search). */
  readonly onProgress?: (line: string) => void;
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
  /** The inviter was found on the LAN, not at the code's address. */
  readonly foundOnLan: boolean;
}

/** How long `wizard join` looks for its inviter on the LAN: past one 30 s announcement of a node too old to answer a query. */
export const LAN_SEARCH_MS = 40_000;
/** A LAN candidate answers the TLS handshake within this, or is passed over: it is on the same LAN. */
const LAN_DIAL_TIMEOUT_MS = 3_000;
/** Nodes heard on the LAN that one join tries at most. */
const MAX_LAN_TRIES = 16;

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
  const key = newNodeKey();
  const ask: JoinerAsk = { code, spkiDer: key.spkiDer, name, listenPort };

  const searchMs = opts.lanSearchMs ?? LAN_SEARCH_MS;
  const seconds = Math.ceil(searchMs / 1000);
  const misses: Attempt[] = [];
  if (code.address !== '') {
    const direct = await tryInviter(code.address, ask);
    if (direct.ok) return joined(direct, false);
    if (opts.lan === false) throw missError(direct);
    misses.push(direct);
    opts.onProgress?.(`The inviter is not at ${code.address} (${direct.message}); looking for it on the LAN for up to ${seconds} s`);
  } else if (opts.lan === false) {
    throw new UsageError('this code names no address: the inviter is found on the LAN only, and --no-lan was given');
  } else {
    opts.onProgress?.(`Looking for the inviter on the LAN for up to ${seconds} s`);
  }
  const found = await searchLan(ask, searchMs, misses);
  if (found.granted !== undefined) return joined(found.granted, true);
  throw notFoundError(code.address, misses, found.unsent);

  function joined(a: Attempt & { ok: true }, foundOnLan: boolean): JoinResult {
    const r = writeJoinedHome({ home, name, listen, given, caPem: a.offer.ca, certPem: a.grant.cert, keyPem: key.keyPem, grant: a.grant, inviterAddress: a.address });
    return { ...r, foundOnLan };
  }
}

/**
 * Tries each node heard on the LAN, in the order heard, until one grants;
 * `misses` collects the others. The code's pin and the invite's proof decide
 * (enrol-attempt.ts): a node's announcement only makes it worth a dial.
 */
async function searchLan(ask: JoinerAsk, forMs: number, misses: Attempt[]): Promise<{ granted?: Attempt & { ok: true }; unsent?: string }> {
  const search = new LanSearch({ clock: systemClock });
  try {
    await search.start();
  } catch (err) {
    throw new WizardError('UNREACHABLE', `cannot listen for nodes on the LAN (UDP ${DISCOVERY_PORT}): ${describeError(err)}; ask for a code with the inviter's address ('wizard invite --address HOST:PORT' there)`, { cause: err });
  }
  try {
    const deadline = systemClock.now() + forMs;
    const tried = new Set(misses.map((m) => m.address));
    let tries = 0;
    for (let s = await search.next(deadline); s !== undefined && tries < MAX_LAN_TRIES; s = await search.next(deadline)) {
      const address = formatHostPort(s.host, s.port);
      if (tried.has(address)) continue;
      tried.add(address);
      tries++;
      const attempt = await tryInviter(address, ask, LAN_DIAL_TIMEOUT_MS);
      if (attempt.ok) return { granted: attempt };
      misses.push(attempt);
    }
    return { unsent: search.unsent() };
  } finally {
    search.close();
  }
}

/** The one line for a code whose address was not the inviter, when the LAN was not searched. */
function missError(miss: Attempt & { ok: false }): WizardError {
  if (miss.why === 'unreachable') return new WizardError('UNREACHABLE', miss.message);
  return new UsageError(`${miss.message}: check the address, or ask for a new code`);
}

/** The one line when the inviter was found nowhere: where it was looked for, and what answered instead. */
function notFoundError(address: string, misses: readonly Attempt[], unsent: string | undefined): WizardError {
  const lan = misses.filter((m) => m.address !== address);
  const where = address === '' ? 'on the LAN' : `at ${address} nor on the LAN`;
  const others = lan.filter((m) => !m.ok && m.why === 'other-network').length;
  const peers = lan.filter((m) => !m.ok && m.why === 'not-inviter').length;
  const silent = unsent === undefined ? 'no Wizard node answered there' : `no Wizard node answered there: ${unsent}`;
  const heard = lan.length === 0 ? silent : `${lan.length} node(s) answered there: ${others} of another network, ${peers} of this one without this invite`;
  return new WizardError('UNREACHABLE', `the inviting node was not found ${where} (${heard}); is it running, on this LAN? Or ask for a code with an address it answers at ('wizard invite --address HOST:PORT' there)`);
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

/** Writes the home: certs (no CA key), a config with the inviter (where it was reached) and introduced peers, each granted folder shared with them. */
function writeJoinedHome(j: JoinedHome): Omit<JoinResult, 'foundOnLan'> {
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
