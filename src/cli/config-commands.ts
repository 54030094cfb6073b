/**
 * Commands for people who prefer them to editing the file: `config check`,
 * `folder add|remove`, `peer list|remove`. Each edit is validated before it
 * is written, keeps the file's comments, and is applied by a running daemon
 * at once (it also notices the file change by itself).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { addFolder, removeFolder, removePeer, revokePeer } from '../config/edit.js';
import { configPath, editConfig, parseOptionsFor } from '../config/file.js';
import { resolvePeerRef } from '../config/peer-ref.js';
import { parseConfig, type PeerConfig } from '../config/schema.js';
import { ConfigError, describeError, hasCode, UsageError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { controlRequest } from '../status/control.js';
import { Revocations } from '../trust/revocations.js';
import { certsDir } from './home.js';
import { printable } from './format.js';
import { type CliIo, configOf, homeOf, reloadDaemon } from './io.js';
import { parseFolderArg } from './init.js';

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

const applied = (running: boolean) => (running ? 'The running daemon applied it.' : "It applies at the next 'wizard start'.");

/** Adds `config check`, `folder add|remove` and `peer list|remove` to the program. */
export function registerConfigCommands(program: Command, io: CliIo): void {
  program
    .command('config')
    .description('work with the config file')
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

  const folder = program.command('folder').description('add or remove synced folders');
  folder
    .command('add')
    .description('sync a folder: ID is shared with the peers that sync it, PATH is where it lives here')
    .argument('<id>')
    .argument('<path>', "where it lives here ('~/...' is your home)")
    .option('--force', 'the ID exists: sync it at PATH instead of where it is now')
    .option('--json', 'print one JSON object')
    .action(async (id: string, dir: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const f = parseFolderArg(`${id}=${dir}`, io.cwd);
      editConfig(home, (text) => addFolder(text, f, configPath(home), { replace: opts.force === true }), { homeDir: os.homedir() });
      const running = await reloadDaemon(home);
      // Where it is on disk: '~' as the config reads it.
      const where = f.path === '~' || f.path.startsWith('~/') ? path.join(os.homedir(), f.path.slice(1)) : f.path;
      if (opts.json === true) io.out(JSON.stringify({ id: f.id, path: where, daemonNotified: running }));
      else io.out(`Folder '${printable(f.id)}' is ${printable(where)}. ${applied(running)}`);
    });
  folder
    .command('remove')
    .description('stop syncing a folder; its files stay on disk')
    .argument('<id>')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      editConfig(home, (text) => removeFolder(text, id, configPath(home)), { homeDir: os.homedir() });
      const running = await reloadDaemon(home);
      if (opts.json === true) io.out(JSON.stringify({ id, daemonNotified: running }));
      else io.out(`Folder '${printable(id)}' is no longer synced; its files are untouched. ${applied(running)}`);
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
