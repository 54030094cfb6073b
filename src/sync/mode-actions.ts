/**
 * The two commands folder modes come with (issue 16 item 2). In a send-only
 * folder peers' changes are not applied, and `override` makes this node's
 * version of every path that differs win: each gets a version that
 * dominates every peer's, so the peers take ours. In a receive-only folder
 * local changes are not sent, and `revert` gives them up: a path a peer has
 * goes back to the peers' version (the next pull fetches it), and a path only
 * this node has goes to the trash. The decisions are pure (overrideEntry,
 * revertEntry); the folder commits them.
 */
import { rmdirSync } from 'node:fs';
import path from 'node:path';
import type { FileEntry, LocalEntry } from '../index/entry.js';
import { realAncestors } from '../index/real-path.js';
import { bump, compare, merge, type VersionVector } from '../versions/vector.js';
import { reconcile, type RemoteEntry } from './pull/reconcile.js';

/** An entry to record locally, as the folder commits it. */
export type LocalChange = Omit<LocalEntry, 'sequence'>;

/**
 * Whether our entry is a change no peer has seen: no peer holds its version
 * or a newer one. What a receive-only folder withholds and `revert` gives
 * up. An entry at the empty version (reverted) is none, and neither is the
 * deletion of a path no peer ever had.
 */
export function isLocalChange(local: Pick<FileEntry, 'version' | 'deleted'>, remotes: readonly RemoteEntry[]): boolean {
  if (Object.keys(local.version).length === 0) return false;
  if (remotes.length === 0) return !local.deleted;
  return !remotes.some((r) => {
    const order = compare(r.entry.version, local.version);
    return order === 'equal' || order === 'greater';
  });
}

/**
 * What overriding `path` records: our entry (or, where we have none, a
 * deletion) at a version above every peer's. Undefined when no peer's
 * version would change anything here.
 */
export function overrideEntry(path: string, local: LocalEntry | undefined, remotes: readonly RemoteEntry[], localId: string, nowMs: number): LocalChange | undefined {
  if (reconcile(local, remotes).kind === 'none') return undefined;
  const seen = remotes.reduce<VersionVector>((v, r) => merge(v, r.entry.version), local?.version ?? {});
  const version = bump(seen, localId, nowMs);
  if (local !== undefined) return { ...local, version };
  const theirs = remotes[0]?.entry;
  return { path, type: theirs?.type ?? 'file', size: 0, mtimeMs: nowMs, mode: theirs?.mode ?? 0o644, hash: '', target: '', deleted: true, version, inode: 0 };
}

/**
 * What reverting a local change records. With a peer's entry for the path,
 * ours steps back to an empty version, which every peer's dominates, so the
 * next pull takes theirs ('pull'). Without one, the path is ours alone: it
 * must leave the disk ('remove'), and its deletion is recorded at the empty
 * version too, which no peer would take (a deletion of a path it never had).
 */
export function revertEntry(local: LocalEntry, remotes: readonly RemoteEntry[]): { readonly entry: LocalChange; readonly then: 'pull' | 'remove' | 'none' } {
  const stepped: LocalChange = { ...local, version: {} };
  if (remotes.length > 0) return { entry: stepped, then: 'pull' };
  if (local.deleted) return { entry: stepped, then: 'none' };
  return { entry: { ...stepped, deleted: true, size: 0, hash: '', target: '', inode: 0 }, then: 'remove' };
}

/** What carrying the commands out needs of the folder. */
export interface ModeActionDeps {
  readonly id: string;
  readonly root: string;
  readonly localId: string;
  readonly store: {
    getLocal(folder: string, path: string): LocalEntry | undefined;
    remotesFor(folder: string, path: string): RemoteEntry[];
    remoteDiffering(folder: string, peer: string): FileEntry[];
    allLocal(folder: string): LocalEntry[];
  };
  readonly nowMs: () => number;
  /** Connected peers that share the folder. */
  readonly peers: () => string[];
  readonly isIgnored: (rel: string) => boolean;
  /** Runs `fn` under the folder's commit lock. */
  readonly locked: <T>(fn: () => Promise<T> | T) => Promise<T>;
  readonly commit: (entries: LocalChange[]) => void;
  /** Moves a path only this node has out of the folder (to the trash, or rmdir for an empty dir); false when it could not. */
  readonly remove: (entry: LocalEntry) => Promise<boolean>;
  readonly announce: () => void;
  readonly requestPull: (paths: string[]) => void;
}

/** Send-only `override`: records our version of every differing path above the peers'; returns the paths. */
export async function overrideFolder(deps: ModeActionDeps): Promise<string[]> {
  const done = await deps.locked(() => {
    const paths = new Set<string>();
    for (const peer of deps.peers()) for (const e of deps.store.remoteDiffering(deps.id, peer)) paths.add(e.path);
    const entries: LocalChange[] = [];
    for (const p of [...paths].sort()) {
      if (deps.isIgnored(p)) continue;
      const entry = overrideEntry(p, deps.store.getLocal(deps.id, p), deps.store.remotesFor(deps.id, p), deps.localId, deps.nowMs());
      if (entry !== undefined) entries.push(entry);
    }
    if (entries.length > 0) deps.commit(entries);
    return entries.map((e) => e.path);
  });
  if (done.length > 0) deps.announce();
  return done;
}

/** Receive-only `revert`: gives up every local change; returns the paths reverted. */
export async function revertFolder(deps: ModeActionDeps): Promise<string[]> {
  const done = await deps.locked(async () => {
    const changed = deps.store.allLocal(deps.id).filter((e) => !deps.isIgnored(e.path) && isLocalChange(e, deps.store.remotesFor(deps.id, e.path)));
    const entries: LocalChange[] = [];
    const pulls: string[] = [];
    // Children before their dirs, so a dir only this node made is empty when its turn comes.
    for (const local of changed.sort((a, b) => (a.path < b.path ? 1 : -1))) {
      const step = revertEntry(local, deps.store.remotesFor(deps.id, local.path));
      if (step.then === 'remove' && !(await deps.remove(local))) continue;
      entries.push(step.entry);
      if (step.then === 'pull') pulls.push(local.path);
    }
    if (entries.length > 0) deps.commit(entries);
    return { paths: entries.map((e) => e.path), pulls };
  });
  if (done.paths.length > 0) deps.announce();
  if (done.pulls.length > 0) deps.requestPull(done.pulls);
  return done.paths;
}

/** How many of the folder's entries are local changes (receive-only status): one index query per entry. */
export function localChangeCount(store: ModeActionDeps['store'], folder: string): number {
  return store.allLocal(folder).filter((e) => isLocalChange(e, store.remotesFor(folder, e.path))).length;
}

/** The folder's parts, as modeActionDeps takes them. */
export interface FolderParts {
  readonly id: string;
  readonly root: string;
  readonly localId: string;
  readonly store: ModeActionDeps['store'];
  readonly clock: { now(): number };
  readonly peers: { connected(): string[]; announce(): void };
  readonly trash: { moveIn(abs: string, rel: string, cause?: 'deleted', check?: () => void): Promise<string> };
  readonly lock: { run<T>(fn: () => Promise<T> | T): Promise<T> };
  readonly onDisk: (rel: string) => string;
  readonly isIgnored: (rel: string) => boolean;
  readonly commit: (entries: LocalChange[]) => void;
  readonly requestPull: (paths: string[]) => void;
}

/** ModeActionDeps from a folder's parts: a path only this node has goes to the trash (a file or link) or is removed (an empty dir). */
export function modeActionDeps(parts: FolderParts): ModeActionDeps {
  return {
    id: parts.id,
    root: parts.root,
    localId: parts.localId,
    store: parts.store,
    nowMs: () => parts.clock.now(),
    peers: () => parts.peers.connected(),
    isIgnored: parts.isIgnored,
    locked: (fn) => parts.lock.run(fn),
    commit: parts.commit,
    announce: () => parts.peers.announce(),
    requestPull: parts.requestPull,
    remove: async (entry) => {
      const disk = parts.onDisk(entry.path);
      const abs = path.join(parts.root, disk);
      try {
        if (entry.type === 'dir') {
          // Checked and removed in one synchronous step (temp-place.ts); a dir that still holds anything stays.
          if (!realAncestors(parts.root, disk)) return true;
          rmdirSync(abs);
          return true;
        }
        await parts.trash.moveIn(abs, entry.path, 'deleted', () => {
          if (!realAncestors(parts.root, disk)) throw Object.assign(new Error(`${entry.path}: a dir above it changed`), { code: 'ENOENT' });
        });
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ENOENT';
      }
    },
  };
}
