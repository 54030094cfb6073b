/**
 * Commands for people who prefer them to editing the file: `config check`,
 * `peer list|remove` (the `folder` commands are in folder-commands.ts). Each edit is validated before it
 * is written, keeps the file's comments, and is applied by a running daemon
 * at once (it also notices the file change by itself).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { removePeer, revokePeer, setSettings } from '../config/edit.js';
import { configPath, editConfig, parseOptionsFor } from '../config/file.js';
import { resolvePeerRef } from '../config/peer-ref.js';
import { parseConfig, type PeerConfig } from '../config/schema.js';
import { ConfigError, describeError, hasCode, UsageError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { controlRequest } from '../status/control.js';
import type { StatusSnapshot } from '../status/snapshot.js';
import { Revocations } from '../trust/revocations.js';
import { certsDir } from './home.js';
import { printable } from './format.js';
import { type CliIo, configOf, homeOf, reloadDaemon } from './io.js';

/** What `config check` found. */
export interface CheckResult {
  readonly ok: boolean;
  readonly file: string;
  readonly error?: string;
  readonly line?: number;
  readonly folders?: number;
  readonly peers?: number;
}

/** Validates a config file without applying it. */
export function checkConfig(file: string): CheckResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, file, error: `cannot read ${file}: ${describeError(err)}` };
  }
  try {
    // The file's dir is the home it would run in: no folder may hold it.
    const config = parseConfig(text, file, parseOptionsFor(path.dirname(path.resolve(file)), { homeDir: os.homedir() }));
    return { ok: true, file, folders: config.folders.length, peers: config.peers.length };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ok: false, file, error: err.message, ...(err.line === undefined ? {} : { line: err.line }) };
  }
}

/**
 * The node ID `ref` names among `peers` (a name, an ID or a unique prefix);
 * with `anyNode`, also the whole ID of a node that is not a peer (one can
 * revoke a node never paired). Throws UsageError with the one line to show.
 */
function peerIdFor(peers: readonly PeerConfig[], ref: string, anyNode: boolean): string {
  const found = resolvePeerRef(peers, ref);
  if (found.ok) return found.peer.id;
  if (anyNode && /^[0-9a-f]{64}$/i.test(ref.trim())) return ref.trim().toLowerCase();
  throw new UsageError(found.error);
}

/**
 * Signs a revocation list with `id` in it when this node holds the CA key:
 * through the running daemon, which also passes it to its peers, or into the
 * home when none runs (it goes out at the next start).
 */
async function spreadRevocation(home: string, id: string): Promise<{ running: boolean; spreads: boolean; version?: number }> {
  try {
    const r = (await controlRequest(home, { cmd: 'revoke', id })) as { spreads: boolean; version?: number };
    return { running: true, ...r };
  } catch (err) {
    if (!hasCode(err, 'NOT_RUNNING')) throw err;
  }
  const certs = certsDir(home);
  const revocations = new Revocations({ home, certsDir: certs, caPem: readFileSync(path.join(certs, 'ca.crt'), 'utf8'), now: () => Date.now(), log: createLogger('silent') });
  if (!revocations.canSign()) return { running: false, spreads: false };
  return { running: false, spreads: true, version: revocations.revoke([id]).list.version };
}

/** A setting's value as typed: a number, true or false, else the text. */
export function settingValue(text: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

/**
 * Sets settings in the home's config: validated as a whole before it is
 * written (a value the config refuses is never saved, and the error says
 * FILE:LINE: what is wrong), then the running daemon applies them.
 * `reload` asks the daemon to re-read the file; false when none runs.
 */
export async function setConfig(home: string, values: ReadonlyArray<readonly [string, string | number | boolean]>, reload: () => Promise<boolean>): Promise<{ settings: Record<string, string | number | boolean>; daemonNotified: boolean }> {
  if (values.length === 0) throw new UsageError('nothing to set');
  editConfig(home, (text) => setSettings(text, values, configPath(home)), { homeDir: os.homedir() });
  return { settings: Object.fromEntries(values), daemonNotified: await reload() };
}

const applied = (running: boolean) => (running ? 'The running daemon applied it.' : "It applies at the next 'wizard start'.");

/** Adds `config check` and `peer list|remove` to the program. */
export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('work with the config file');
  config
    .command('check')
    .description('validate a config file without applying it (default: the home config)')
    .argument('[file]', 'the file to check')
    .option('--json', 'print one JSON object')
    .action((file: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const r = checkConfig(file === undefined ? configPath(homeOf(cmd)) : path.resolve(io.cwd, file));
      if (opts.json === true) io.out(JSON.stringify(r));
      else io.out(r.ok ? `${r.file} is valid: ${r.folders ?? 0} folders, ${r.peers ?? 0} peers.` : `${r.error ?? 'invalid'}`);
      if (!r.ok) io.setExit(2);
    });

  config
    .command('set')
    .description('set a setting (limits.transfers, limits.bandwidth.up, trash.retentionDays, ...): validated before it is written, applied at once')
    .argument('<key>', 'the setting, dotted as in the file: limits.hashers')
    .argument('<value>', 'its new value')
    .option('--json', 'print one JSON object')
    .action(async (key: string, value: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const r = await setConfig(home, [[key, settingValue(value)]], () => reloadDaemon(home));
      if (opts.json === true) io.out(JSON.stringify(r));
      else io.out(`Set ${key} to ${printable(String(settingValue(value)))}. ${applied(r.daemonNotified)}`);
    });

  const peer = program.command('peer').description('list or remove known nodes');
  peer
    .command('list')
    .description('the peers in the config, and revoked node IDs')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      if (opts.json === true) io.out(JSON.stringify({ peers: config.peers, revoked: config.revoked }));
      else {
        for (const p of config.peers) io.out(`${p.id}  ${printable(p.name) || '(no name)'}  ${printable(p.address) || '(they dial us)'}`);
        if (config.peers.length === 0) io.out("No peers; pair one with 'wizard pair HOST'.");
        for (const id of config.revoked) io.out(`${id}  revoked`);
      }
    });
  peer
    .command('accept')
    .description("record a node whose pairing request waits here (trust: allowlist), sharing the folders it offered that this node has")
    .argument('<peer>', "the node's name, node ID, or a prefix of the ID only it has, as 'wizard status' lists the requests")
    .option('--json', 'print one JSON object')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const requests = ((await controlRequest(home, { cmd: 'status' }).catch((err: unknown) => {
        if (hasCode(err, 'NOT_RUNNING')) throw new UsageError("the daemon is not running: pairing requests wait in a running daemon, so start it and ask the other node to pair again");
        throw err;
      })) as StatusSnapshot).pairingRequests;
      const found = resolvePeerRef(requests, ref);
      if (!found.ok) throw new UsageError(requests.length === 0 ? 'no pairing request waits here' : found.error.replace('no peer', 'no pairing request from').replace('peers', 'requests'));
      const result = (await controlRequest(home, { cmd: 'accept-peer', id: found.peer.id })) as { id: string; shared: string[] };
      if (opts.json === true) io.out(JSON.stringify(result));
      else {
        io.out(`Accepted ${printable(found.peer.name) || found.peer.id.slice(0, 8)} (${found.peer.id}).`);
        io.out(result.shared.length > 0 ? `Shared with it: ${result.shared.map(printable).join(', ')}` : "No folder is shared: it offered none this node has; share one with 'wizard folder share ID PEER'.");
      }
    });
  peer
    .command('remove')
    .description('forget a peer; with --revoke it is also refused from now on (and disconnected)')
    .argument('<peer>', "the peer's name, node ID, or a prefix of the ID only it has (with --revoke, any node's whole ID)")
    .option('--revoke', 'add it to revoked, so the CA signature alone no longer lets it in')
    .option('--json', 'print one JSON object')
    .action(async (ref: string, opts: { revoke?: boolean; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const file = configPath(home);
      const peers = configOf(cmd).peers;
      const id = peerIdFor(peers, ref, opts.revoke === true);
      const name = peers.find((p) => p.id === id)?.name ?? '';
      editConfig(home, (text) => (opts.revoke === true ? revokePeer(text, id, file) : removePeer(text, id, file)), { homeDir: os.homedir() });
      const who = name === '' ? id : `${printable(name)} (${id})`;
      if (opts.revoke !== true) {
        const running = await reloadDaemon(home);
        if (opts.json === true) io.out(JSON.stringify({ id, revoked: false, daemonNotified: running }));
        else io.out(`Removed ${who}. ${applied(running)}`);
        return;
      }
      const r = await spreadRevocation(home, id);
      if (opts.json === true) io.out(JSON.stringify({ id, revoked: true, daemonNotified: r.running, spreads: r.spreads, ...(r.version === undefined ? {} : { version: r.version }) }));
      else {
        io.out(`Revoked ${who}. ${applied(r.running)}`);
        io.out(
          r.spreads
            ? `The CA-signed revocation list (version ${r.version ?? 0}) goes to every peer${r.running ? ' now' : " from the next 'wizard start'"}; each refuses the node from then on.`
            : "The revocation stays local to this node: it does not hold the CA key. Run 'wizard peer remove ID --revoke' on the node that does to refuse it on every node.",
        );
      }
    });
}
