/**
 * Comment-preserving edits to config text, as commands make them (pair, folder
 * add/remove/share/unshare): every line they do not change stays as the user wrote it.
 * Pure: text in, text out.
 */
import { type Document, YAMLSeq, isMap, isNode, isScalar, isSeq, type YAMLMap } from 'yaml';
import { ConfigError, UsageError } from '../core/errors.js';
import { type Ctx, type FolderConfig, type FolderMode, type PeerConfig, fail, lineOf, load } from './schema.js';

const DEFAULT_FILE = 'config.yaml';

/**
 * Adds a peer, or updates its name and address in place when its ID is listed.
 * An empty name or address does not erase a known one: a peer that dialed us
 * has no address we could learn, yet the user may have typed one.
 * Throws a ConfigError if the ID is in `revoked`.
 */
export function addPeer(text: string, peer: PeerConfig, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const id = peer.id.toLowerCase();
  const revoked = ctx.doc.get('revoked', true);
  for (const item of isSeq(revoked) ? revoked.items : []) {
    if (isScalar(item) && String(item.value).toLowerCase() === id) {
      const line = lineOf(ctx, item);
      throw new ConfigError(`node ${id} is revoked in ${file}; remove it from 'revoked' to pair again`, file, line);
    }
  }
  const seq = seqAt(ctx, 'peers');
  const existing = findById(seq, id, true);
  if (existing) {
    if (peer.name !== '' || !existing.has('name')) existing.set('name', peer.name);
    if (peer.address !== '' || !existing.has('address')) existing.set('address', peer.address);
  } else {
    seq.items.push(ctx.doc.createNode({ id, name: peer.name, address: peer.address }));
  }
  return render(ctx.doc);
}

/**
 * Records a pairing: the peer (as `addPeer` does) and, for each of
 * `folderIds` this config has, the peer in its share list. Folder IDs this
 * config lacks are skipped: a pairing never names a folder into existence.
 */
export function pairPeer(text: string, peer: PeerConfig, folderIds: readonly string[], file = DEFAULT_FILE): string {
  let next = addPeer(text, peer, file);
  const ctx = load(next, file);
  const folders = ctx.doc.get('folders', true);
  const have = new Set((isSeq(folders) ? folders.items : []).filter((item) => isMap(item)).map((item) => String(item.get('id'))));
  for (const id of folderIds) if (have.has(id)) next = shareFolder(next, id, peer.id, file);
  return next;
}

/** Adds a folder ID to `declinedFolders` (its offers are no longer shown); declining twice changes nothing. */
export function declineFolder(text: string, folderId: string, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const seq = seqAt(ctx, 'declinedFolders');
  if (!seq.items.some((item) => isScalar(item) && String(item.value) === folderId)) seq.items.push(ctx.doc.createNode(folderId));
  return render(ctx.doc);
}

/** Removes a folder ID from `declinedFolders`, if listed (accepting an offer after all). */
export function undeclineFolder(text: string, folderId: string, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const node = ctx.doc.get('declinedFolders', true);
  if (isSeq(node)) node.items = node.items.filter((item) => !(isScalar(item) && String(item.value) === folderId));
  return render(ctx.doc);
}

/** Removes a peer by ID; throws a ConfigError if it is not listed, since that is usually a typo. */
export function removePeer(text: string, id: string, file = DEFAULT_FILE): string {
  return removeById(text, 'peers', id.toLowerCase(), true, file);
}

/**
 * Revokes a node: drops it from `peers` (if listed) and adds it to `revoked`,
 * so the daemon refuses it and closes its live connection.
 */
export function revokePeer(text: string, id: string, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const lower = id.toLowerCase();
  const peers = seqAt(ctx, 'peers');
  peers.items = peers.items.filter((item) => !isMap(item) || !sameId(item, lower, true));
  const revoked = seqAt(ctx, 'revoked');
  if (!revoked.items.some((item) => isScalar(item) && String(item.value).toLowerCase() === lower)) revoked.items.push(ctx.doc.createNode(lower));
  return render(ctx.doc);
}

/**
 * Adds a folder. A new folder is shared with the peers in `folder.shareWith`
 * and no others. An ID already listed is a UsageError, unless `replace`,
 * which changes its path in place (it keeps its share list and mode).
 */
export function addFolder(text: string, folder: FolderConfig, file = DEFAULT_FILE, opts: { replace?: boolean } = {}): string {
  const ctx = editable(text, file);
  const seq = seqAt(ctx, 'folders');
  const existing = findById(seq, folder.id, false);
  // Pointing an existing ID elsewhere moves what syncs there: only when asked, never as a side effect of a typo.
  if (existing && opts.replace !== true) {
    const now = existing.get('path');
    throw new UsageError(`folder '${folder.id}' already exists${typeof now === 'string' ? ` (at ${now})` : ''}; pass --force to sync it at ${folder.path} instead`);
  }
  if (existing) {
    existing.set('path', folder.path);
  } else {
    const entry = ctx.doc.createNode({ id: folder.id, path: folder.path, shareWith: folder.shareWith.map((id) => id.toLowerCase()), mode: folder.mode });
    const list = entry.get('shareWith', true);
    if (isSeq(list)) list.flow = true;
    seq.items.push(entry);
  }
  return render(ctx.doc);
}

/** Shares a folder with a peer (by full node ID); sharing it again changes nothing. Throws a ConfigError if the folder is not listed. */
export function shareFolder(text: string, folderId: string, peerId: string, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const share = shareListOf(ctx, folderId, file);
  const id = peerId.toLowerCase();
  if (!share.items.some((item) => isScalar(item) && String(item.value).toLowerCase() === id)) share.items.push(ctx.doc.createNode(id));
  return render(ctx.doc);
}

/** Stops sharing a folder with a peer; a peer it was not shared with changes nothing. Throws a ConfigError if the folder is not listed. */
export function unshareFolder(text: string, folderId: string, peerId: string, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const share = shareListOf(ctx, folderId, file);
  const id = peerId.toLowerCase();
  share.items = share.items.filter((item) => !(isScalar(item) && String(item.value).toLowerCase() === id));
  return render(ctx.doc);
}

/** Sets a folder's mode. Throws a ConfigError if the folder is not listed. */
export function setFolderMode(text: string, folderId: string, mode: FolderMode, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  folderEntry(ctx, folderId, file).set('mode', mode);
  return render(ctx.doc);
}

/**
 * Pauses or unpauses a folder. Unpausing removes the key rather than writing
 * `paused: false`, so the entry reads as one that was never paused. Throws a
 * ConfigError if the folder is not listed.
 */
export function setFolderPaused(text: string, folderId: string, paused: boolean, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const entry = folderEntry(ctx, folderId, file);
  if (paused) entry.set('paused', true);
  else entry.delete('paused');
  return render(ctx.doc);
}

/**
 * Sets scalar settings by dotted key (`limits.transfers`, `limits.bandwidth.up`),
 * all in one edit: the caller validates the whole result (editConfig), so
 * either every value is written or none. A key whose parent is not a map in
 * the file is refused; lists (folders, peers) have their own commands.
 */
export function setSettings(text: string, values: ReadonlyArray<readonly [string, string | number | boolean]>, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  for (const [key, value] of values) {
    const parts = key.split('.');
    if (parts.some((p) => !/^[A-Za-z][A-Za-z0-9]*$/.test(p))) throw new UsageError(`'${key}' is not a setting's name; write it as in the file, as limits.transfers`);
    const here = ctx.doc.getIn(parts, true);
    if (here !== undefined && !isScalar(here)) throw new UsageError(`'${key}' is not a single value in ${file}; edit the file for it`);
    try {
      ctx.doc.setIn(parts, value);
    } catch {
      // The yaml library refuses a path through a scalar ('limits.transfers.x').
      throw new UsageError(`'${key}' is not a setting's name: part of it is a single value in ${file}`);
    }
  }
  return render(ctx.doc);
}

/**
 * Writes out the share lists of a config from before folders had them: such a
 * config has no `shareWith` on any folder and is read as every folder shared
 * with every peer (parseFolders), so each folder gets the list of today's
 * peers, which keeps its sync as it was while making later edits explicit.
 * Returns null when there is nothing to write (some folder has a list, or there
 * are no folders). Every edit below runs this first.
 */
export function materialiseShareLists(text: string, file = DEFAULT_FILE): string | null {
  const ctx = load(text, file);
  return materialise(ctx) ? render(ctx.doc) : null;
}

function materialise(ctx: Ctx): boolean {
  const folders = ctx.doc.get('folders', true);
  if (!isSeq(folders)) return false;
  const entries = folders.items.filter((item): item is YAMLMap<unknown, unknown> => isMap(item));
  if (entries.length === 0 || entries.some((entry) => entry.has('shareWith'))) return false;
  const peers = ctx.doc.get('peers', true);
  const peerIds = (isSeq(peers) ? peers.items : []).filter((item): item is YAMLMap<unknown, unknown> => isMap(item)).map((peer) => String(peer.get('id')).toLowerCase());
  for (const entry of entries) {
    const list = ctx.doc.createNode(peerIds);
    list.flow = true;
    entry.set('shareWith', list);
  }
  return true;
}

function folderEntry(ctx: Ctx, folderId: string, file: string): YAMLMap<unknown, unknown> {
  const entry = findById(seqAt(ctx, 'folders'), folderId, false);
  if (entry === undefined) throw new ConfigError(`no folder ${folderId} in ${file}`, file);
  return entry;
}

/** The folder's `shareWith` list, created (empty, on one line) when absent. */
function shareListOf(ctx: Ctx, folderId: string, file: string): YAMLSeq<unknown> {
  const entry = folderEntry(ctx, folderId, file);
  const list = entry.get('shareWith', true);
  if (isSeq(list)) return list;
  if (list !== undefined && !(isScalar(list) && list.value === null)) fail(ctx, isNode(list) ? list : null, `folder '${folderId}' shareWith must be a list`);
  const seq = new YAMLSeq<unknown>(ctx.doc.schema);
  seq.flow = true;
  entry.set('shareWith', seq);
  return seq;
}

/** Removes a folder by ID; throws a ConfigError if it is not listed. Files on disk are untouched. */
export function removeFolder(text: string, id: string, file = DEFAULT_FILE): string {
  return removeById(text, 'folders', id, false, file);
}

function removeById(text: string, key: 'peers' | 'folders', id: string, isNodeId: boolean, file: string): string {
  const ctx = editable(text, file);
  const seq = seqAt(ctx, key);
  const before = seq.items.length;
  seq.items = seq.items.filter((item) => !isMap(item) || !sameId(item, id, isNodeId));
  if (seq.items.length === before) throw new ConfigError(`no ${isNodeId ? 'peer' : 'folder'} ${id} in ${file}`, file);
  return render(ctx.doc);
}

/** Parses text for an edit; a config from before share lists gets them first, so the edit cannot change who shares what by accident. */
function editable(text: string, file: string): Ctx {
  const ctx = load(text, file);
  if (ctx.doc.contents !== null && !isMap(ctx.doc.contents)) fail(ctx, ctx.doc.contents, 'the config must be a map of settings');
  materialise(ctx);
  return ctx;
}

/** The list under `key`, created as a block list when absent or empty. */
function seqAt(ctx: Ctx, key: string): YAMLSeq<unknown> {
  const node = ctx.doc.get(key, true);
  if (isSeq(node)) {
    // `peers: []` as rendered: switch to block style so added entries read one field a line.
    if (node.items.length === 0) node.flow = false;
    return node;
  }
  if (node !== undefined && !(isScalar(node) && node.value === null)) fail(ctx, isNode(node) ? node : null, `${key} must be a list`);
  const seq = new YAMLSeq<unknown>(ctx.doc.schema);
  ctx.doc.set(key, seq);
  return seq;
}

/** Node IDs are hex and compare without case; folder IDs are the user's and compare exactly. */
function sameId(item: YAMLMap<unknown, unknown>, id: string, isNodeId: boolean): boolean {
  const v = String(item.get('id'));
  return isNodeId ? v.toLowerCase() === id.toLowerCase() : v === id;
}

function findById(seq: YAMLSeq<unknown>, id: string, isNodeId: boolean): YAMLMap<unknown, unknown> | undefined {
  return seq.items.find((item): item is YAMLMap<unknown, unknown> => isMap(item) && sameId(item, id, isNodeId));
}

function render(doc: Document): string {
  return doc.toString({ lineWidth: 0 });
}
