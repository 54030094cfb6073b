/**
 * One entry of the config's `folders` list: its ID, where it lives here, the
 * peers it is shared with, its mode and whether it is paused; and the list of
 * folder IDs whose offers the user declined. Pure: YAML nodes in, values out
 * (I/O, such as resolving symlinks, comes in through `realPath`).
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Node } from 'yaml';
import { bool, type Ctx, fail, fields, lineOf, list, nodeId, oneOf, required, str } from './yaml-nodes.js';

/** How a folder syncs: both ways, only out (peers' changes are not applied), or only in (local changes are not sent). */
export type FolderMode = 'send-receive' | 'send-only' | 'receive-only';

/** The folder modes, default first. */
export const FOLDER_MODES: readonly FolderMode[] = ['send-receive', 'send-only', 'receive-only'];

/**
 * A synced folder: `id` is shared by every node that syncs it, `path` is
 * absolute on this node, `shareWith` the node IDs of the peers it is shared
 * with (only those listed in `peers` count), `mode` how it syncs. A paused
 * folder (`wizard folder pause`) is not watched, scanned, pulled or offered
 * to any peer until it is unpaused; its index stays as it was. Absent means
 * not paused, and only a paused folder carries the key, so a config that
 * never paused anything reads as it did before the key existed.
 */
export interface FolderConfig {
  id: string;
  path: string;
  shareWith: string[];
  mode: FolderMode;
  paused?: true;
}

/** What reading the folders needs besides the document. */
export interface FolderReadOptions {
  /** What '~' in a path expands to. */
  readonly homeDir: string;
  /** The Wizard home: a folder may neither contain it nor lie inside it (its keys would sync). */
  readonly home?: string;
  /** The path with its symlinks resolved, as far as it exists; the path itself by default. */
  readonly realPath?: (path: string) => string;
}

const FOLDER_ID = /^[A-Za-z0-9._-]{1,64}$/;
const FOLDER_KEYS = ['id', 'path', 'shareWith', 'mode', 'paused'] as const;

/**
 * Reads the `folders` list. A config written before folders had share lists
 * has none at all: it is read as it then behaved, every folder shared with
 * every peer in `peerIds` (the daemon writes the lists out once at start, see
 * `materialiseShareLists` in edit.ts). In any other config a folder without
 * `shareWith` is shared with nobody.
 */
export function parseFolders(ctx: Ctx, node: Node | null, peerIds: readonly string[], opts: FolderReadOptions): FolderConfig[] {
  const items = list(ctx, node, 'folders');
  const maps = items.map((item) => ({ item, f: fields(ctx, item, FOLDER_KEYS) }));
  const legacy = maps.length > 0 && maps.every(({ f }) => !f.has('shareWith'));
  const out: (FolderConfig & { line: number })[] = [];
  for (const { item, f } of maps) {
    const idNode = required(ctx, f, 'id', item, 'folder');
    const id = folderId(ctx, idNode, 'folder id');
    const twin = out.find((o) => o.id === id);
    if (twin) fail(ctx, idNode, `folder id '${id}' is listed twice (also on line ${twin.line})`);
    const { path, pathNode } = folderPath(ctx, f, item, id, opts);
    for (const o of out) {
      // Nested folders would sync the inner files twice, under two IDs, with two indexes fighting.
      if (o.path === path) fail(ctx, pathNode, `folder '${id}' has the same path as folder '${o.id}' (line ${o.line})`);
      if (isInside(o.path, path)) fail(ctx, pathNode, `folder '${id}' path ${path} is inside folder '${o.id}' (line ${o.line})`);
      if (isInside(path, o.path)) fail(ctx, pathNode, `folder '${id}' path ${path} contains folder '${o.id}' (line ${o.line})`);
    }
    if (opts.home !== undefined) keysNeverSync(ctx, pathNode, id, path, opts.home, opts.realPath ?? ((p) => p));
    const shareWith = legacy ? [...peerIds] : [...new Set(list(ctx, f.get('shareWith')?.value ?? null, `folder '${id}' shareWith`).map((n) => nodeId(ctx, n, `folder '${id}' shareWith entry`)))];
    const mode = oneOf(ctx, f.get('mode')?.value ?? null, `folder '${id}' mode`, FOLDER_MODES, 'send-receive');
    const paused = bool(ctx, f.get('paused')?.value ?? null, `folder '${id}' paused`, false);
    out.push({ id, path, shareWith, mode, ...(paused ? { paused: true as const } : {}), line: lineOf(ctx, idNode) });
  }
  return out.map(({ line: _line, ...folder }) => folder);
}

/** Reads `declinedFolders`: folder IDs whose offers from peers are no longer shown. */
export function parseDeclined(ctx: Ctx, node: Node | null): string[] {
  return [...new Set(list(ctx, node, 'declinedFolders').map((n) => folderId(ctx, n, 'declinedFolders entry')))];
}

/** Whether `text` is a valid folder ID (what the wire protocol also allows). */
export function isFolderId(text: string): boolean {
  return FOLDER_ID.test(text) && text !== '.' && text !== '..';
}

function folderId(ctx: Ctx, node: Node, what: string): string {
  const id = str(ctx, node, what);
  if (!isFolderId(id)) fail(ctx, node, `${what} '${id}' must be 1 to 64 letters, digits, '.', '_' or '-', and not '.' or '..'`);
  return id;
}

function folderPath(ctx: Ctx, f: ReturnType<typeof fields>, item: Node, id: string, opts: FolderReadOptions): { path: string; pathNode: Node } {
  // A bare `~` is YAML for null, but as a folder path the user surely means home.
  const bareTilde = f.get('path')?.source === '~';
  const pathNode = bareTilde ? (f.get('path')?.key ?? item) : required(ctx, f, 'path', item, `folder '${id}'`);
  const raw = bareTilde ? '~' : str(ctx, pathNode, `folder '${id}' path`);
  if (raw === '' || raw.includes('\0')) fail(ctx, pathNode, `folder '${id}' path must be a non-empty path`);
  const expanded = raw === '~' ? opts.homeDir : raw.startsWith('~/') ? join(opts.homeDir, raw.slice(2)) : raw;
  if (!isAbsolute(expanded)) fail(ctx, pathNode, `folder '${id}' path '${raw}' must be absolute or start with '~/'`);
  return { path: resolve(expanded), pathNode };
}

/**
 * The node's keys (HOME/certs) must never reach a peer: a folder may not be
 * the home, contain it, or lie inside it. Compared as written and with
 * symlinks resolved, so a link to the home's parent is caught too.
 */
function keysNeverSync(ctx: Ctx, at: Node, id: string, path: string, home: string, realPath: (p: string) => string): void {
  const homes = new Set([resolve(home), realPath(resolve(home))]);
  const paths = new Set([path, realPath(path)]);
  for (const h of homes) {
    for (const p of paths) {
      if (p === h || isInside(p, h)) {
        fail(ctx, at, `folder '${id}' path ${path} contains the Wizard home ${home}, whose keys would sync to the peers: move the folder, or the home (--home, WIZARD_HOME)`);
      }
      if (isInside(h, p)) {
        fail(ctx, at, `folder '${id}' path ${path} is inside the Wizard home ${home}, whose keys must never sync: put the folder elsewhere`);
      }
    }
  }
}

/** Whether `child` lies strictly below `parent`. */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
