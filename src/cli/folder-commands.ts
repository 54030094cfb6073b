/**
 * `wizard folder add|remove|share|unshare|accept|decline|mode|pause|unpause`:
 * which folders this node syncs, with whom and how. Each edit is validated
 * before it is written, keeps the file's comments, and a running daemon
 * applies it at once (links whose shares changed start over). PEER is a name,
 * a node ID or a prefix of one (resolvePeerRef).
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { addFolder, removeFolder, setFolderMode, setFolderPaused, shareFolder, unshareFolder, declineFolder, undeclineFolder } from '../config/edit.js';
import { FOLDER_MODES, type FolderMode } from '../config/folder-entry.js';
import { configPath, editConfig } from '../config/file.js';
import { resolvePeerRef } from '../config/peer-ref.js';
import type { Config, PeerConfig } from '../config/schema.js';
import { hasCode, UsageError, WizardError } from '../core/errors.js';
import { controlRequest } from '../status/control.js';
import type { StatusSnapshot } from '../status/snapshot.js';
import { printable } from './format.js';
import { type CliIo, configOf, homeOf, reloadDaemon, reloadDaemonReport } from './io.js';
import { parseFolderArg } from './init.js';

const applied = (running: boolean) => (running ? 'The running daemon applied it.' : "It applies at the next 'wizard start'.");

/** The peer `ref` names, or the one-line usage error. */
function peerFor(config: Config, ref: string): PeerConfig {
  const found = resolvePeerRef(config.peers, ref);
  if (!found.ok) throw new UsageError(found.error);
  return found.peer;
}

/** The folder `id` of `config`, or a usage error that says where the folders are listed. */
function folderOf(config: Config, id: string): Config['folders'][number] {
  const folder = config.folders.find((f) => f.id === id);
  if (folder === undefined) throw new UsageError(`no folder '${id}' here; 'wizard status' lists the folders`);
  return folder;
}

const named = (p: PeerConfig) => (p.name === '' ? p.id.slice(0, 8) : `${printable(p.name)} (${p.id.slice(0, 8)})`);

/**
 * `folder share|unshare`: shares folder `id` with the peer `ref` names, or
 * stops; the edit is validated before it is written, then `reload` has the
 * running daemon apply it (false when none runs).
 */
export async function setFolderShare(home: string, config: Config, id: string, ref: string, share: boolean, reload: () => Promise<boolean>): Promise<{ peer: PeerConfig; daemonNotified: boolean }> {
  folderOf(config, id);
  const peer = peerFor(config, ref);
  editConfig(home, (text) => (share ? shareFolder : unshareFolder)(text, id, peer.id, configPath(home)), { homeDir: os.homedir() });
  return { peer, daemonNotified: await reload() };
}

/**
 * `folder pause|unpause`: pauses or unpauses folder `id`; the edit is
 * validated before it is written, then `reload` has the running daemon apply
 * it (notified false when none runs; stopping while a folder it stopped
 * still finishes the file it was on).
 */
export async function setFolderPause(home: string, config: Config, id: string, paused: boolean, reload: () => Promise<{ notified: boolean; stopping: boolean }>): Promise<{ id: string; paused: boolean; daemonNotified: boolean; stopping?: true }> {
  folderOf(config, id);
  editConfig(home, (text) => setFolderPaused(text, id, paused, configPath(home)), { homeDir: os.homedir() });
  const { notified, stopping } = await reload();
  return { id, paused, daemonNotified: notified, ...(stopping ? { stopping: true as const } : {}) };
}

/** Adds the `folder` commands to the program. */
export function registerFolderCommands(program: Command, io: CliIo): void {
  const folder = program.command('folder').description('add, remove and share synced folders, and take folders peers offer');
  folder
    .command('add')
    .description('sync a folder: ID is what the peers that sync it call it, PATH is where it lives here; shared with nobody unless --share says')
    .argument('<id>')
    .argument('<path>', "where it lives here ('~/...' is your home)")
    .option('--share <peer>', 'share it with this peer (name, node ID or ID prefix; repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--force', 'the ID exists: sync it at PATH instead of where it is now')
    .option('--json', 'print one JSON object')
    .action(async (id: string, dir: string, opts: { share: string[]; force?: boolean; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const config = configOf(cmd);
      const peers = opts.share.map((ref) => peerFor(config, ref));
      const f = { ...parseFolderArg(`${id}=${dir}`, io.cwd), shareWith: [...new Set(peers.map((p) => p.id))] };
      editConfig(home, (text) => addFolder(text, f, configPath(home), { replace: opts.force === true }), { homeDir: os.homedir() });
      const running = await reloadDaemon(home);
      // Where it is on disk: '~' as the config reads it.
      const where = f.path === '~' || f.path.startsWith('~/') ? path.join(os.homedir(), f.path.slice(1)) : f.path;
      if (opts.json === true) io.out(JSON.stringify({ id: f.id, path: where, shareWith: f.shareWith, daemonNotified: running }));
      else {
        io.out(`Folder '${printable(f.id)}' is ${printable(where)}. ${applied(running)}`);
        if (peers.length > 0) io.out(`Shared with ${peers.map(named).join(', ')}.`);
        else io.out(`It is shared with nobody yet: share it with 'wizard folder share ${printable(f.id)} PEER'.`);
      }
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
  for (const share of [true, false]) {
    folder
      .command(share ? 'share' : 'unshare')
      .description(share ? 'share a folder with a peer (it syncs once the peer shares it with this node too)' : 'stop sharing a folder with a peer, at once; its files stay on both nodes')
      .argument('<id>', 'the folder ID')
      .argument('<peer>', "the peer's name, node ID, or a prefix of the ID only it has")
      .option('--json', 'print one JSON object')
      .action(async (id: string, ref: string, opts: { json?: boolean }, cmd: Command) => {
        const home = homeOf(cmd);
        const r = await setFolderShare(home, configOf(cmd), id, ref, share, () => reloadDaemon(home));
        if (opts.json === true) io.out(JSON.stringify({ id, peer: r.peer.id, shared: share, daemonNotified: r.daemonNotified }));
        else io.out(`Folder '${printable(id)}' is ${share ? 'now shared with' : 'no longer shared with'} ${named(r.peer)}. ${applied(r.daemonNotified)}`);
      });
  }
  folder
    .command('accept')
    .description('take a folder a peer offers (see wizard status): sync it at PATH, shared with the peers offering it')
    .argument('<id>', 'the offered folder ID')
    .argument('<path>', 'where it goes on this machine (your choice: never the peer\'s)')
    .option('--json', 'print one JSON object')
    .action(async (id: string, dir: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const config = configOf(cmd);
      // An offer never binds to a folder this node has: that one is shared with 'folder share'.
      if (config.folders.some((f) => f.id === id)) throw new UsageError(`folder '${id}' is already synced here; to sync it with a peer, run 'wizard folder share ${id} PEER'`);
      const offer = (await offersOf(home)).find((o) => o.folder === id);
      if (offer === undefined) throw new UsageError(`no connected peer offers folder '${id}' now; 'wizard status' lists the offers`);
      const f = { ...parseFolderArg(`${id}=${path.resolve(io.cwd, dir)}`), shareWith: offer.peers };
      editConfig(home, (text) => addFolder(undeclineFolder(text, id, configPath(home)), f, configPath(home)), { homeDir: os.homedir() });
      const running = await reloadDaemon(home);
      const peers = offer.peers.map((pid) => config.peers.find((p) => p.id === pid) ?? { id: pid, name: '', address: '' });
      if (opts.json === true) io.out(JSON.stringify({ id, path: f.path, shareWith: f.shareWith, daemonNotified: running }));
      else io.out(`Folder '${printable(id)}' is ${printable(f.path)}, shared with ${peers.map(named).join(', ')}. ${applied(running)}`);
    });
  folder
    .command('decline')
    .description('stop showing a folder peers offer; accepting it later still works')
    .argument('<id>', 'the offered folder ID')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      if (configOf(cmd).folders.some((f) => f.id === id)) throw new UsageError(`folder '${id}' is synced here, not an offer; 'wizard folder remove ${id}' stops syncing it`);
      editConfig(home, (text) => declineFolder(text, id, configPath(home)), { homeDir: os.homedir() });
      const running = await reloadDaemon(home);
      if (opts.json === true) io.out(JSON.stringify({ id, declined: true, daemonNotified: running }));
      else io.out(`Offers of folder '${printable(id)}' are no longer shown. ${applied(running)}`);
    });
  registerModeCommands(folder, io);
  registerPauseCommands(folder, io);
}

/** Adds `folder mode|override|revert`: how a folder syncs, and the two commands that come with the one-way modes. */
function registerModeCommands(folder: Command, io: CliIo): void {
  folder
    .command('mode')
    .description('how a folder syncs: send-receive (default), send-only (peers\' changes are not applied) or receive-only (local changes are not sent)')
    .argument('<id>', 'the folder ID')
    .argument('<mode>', FOLDER_MODES.join(' | '))
    .option('--json', 'print one JSON object')
    .action(async (id: string, mode: string, opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      folderOf(configOf(cmd), id);
      if (!FOLDER_MODES.includes(mode as FolderMode)) throw new UsageError(`mode must be one of ${FOLDER_MODES.join(', ')}, got '${mode}'`);
      editConfig(home, (text) => setFolderMode(text, id, mode as FolderMode, configPath(home)), { homeDir: os.homedir() });
      const running = await reloadDaemon(home);
      if (opts.json === true) io.out(JSON.stringify({ id, mode, daemonNotified: running }));
      else io.out(`Folder '${printable(id)}' is ${mode}. ${applied(running)}`);
    });
  for (const action of ['override', 'revert'] as const) {
    folder
      .command(action)
      .description(action === 'override' ? "send-only: make this node's version of every path the peers differ on win, so they take it" : 'receive-only: give up local changes: the peers\' versions come back, files only this node has go to the trash')
      .argument('<id>', 'the folder ID')
      .option('--json', 'print one JSON object')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const result = (await controlRequest(homeOf(cmd), { cmd: action, folder: id })) as { folder: string; paths: string[] };
        if (opts.json === true) io.out(JSON.stringify(result));
        else io.out(`Folder '${printable(id)}': ${result.paths.length} ${result.paths.length === 1 ? 'path' : 'paths'} ${action === 'override' ? 'now carry this node\'s version to the peers' : 'reverted to the peers\' versions (or moved to the trash, where no peer has them)'}.`);
      });
  }
}

/** Adds `folder pause|unpause`: a paused folder is not watched, scanned, pulled or offered to any peer. */
function registerPauseCommands(folder: Command, io: CliIo): void {
  for (const action of ['pause', 'unpause'] as const) {
    const paused = action === 'pause';
    folder
      .command(action)
      .description(paused ? 'stop syncing a folder until it is unpaused: it is not watched, scanned, pulled or offered to any peer, and its files stay as they are' : 'sync a paused folder again: it is scanned for what changed meanwhile, then synced with its peers')
      .argument('<id>', 'the folder ID')
      .option('--json', 'print one JSON object')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const home = homeOf(cmd);
        // The daemon answers once a paused folder has stopped, or says it is still finishing (a big file's hash).
        const r = await setFolderPause(home, configOf(cmd), id, paused, () => reloadDaemonReport(home));
        if (opts.json === true) io.out(JSON.stringify(r));
        else if (r.stopping === true) io.out(`Folder '${printable(id)}' is ${paused ? 'paused' : 'unpaused'}; the daemon applied it, and a folder it stopped is still finishing the file it was on, and stops once that is done.`);
        else io.out(`Folder '${printable(id)}' is ${paused ? 'paused' : 'unpaused'}. ${applied(r.daemonNotified)}`);
      });
  }
}

/** The running daemon's offers; the daemon alone knows them (they come with peers' Hellos). */
async function offersOf(home: string): Promise<StatusSnapshot['offers']> {
  try {
    return ((await controlRequest(home, { cmd: 'status' })) as StatusSnapshot).offers;
  } catch (err) {
    if (hasCode(err, 'NOT_RUNNING')) throw new WizardError('USAGE', "the daemon is not running: offers come from connected peers, so start it ('wizard start') and try again");
    throw err;
  }
}
