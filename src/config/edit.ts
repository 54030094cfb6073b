/**
 * Comment-preserving edits to config text, as commands make them (pair, folder
 * add/remove): every line they do not change stays as the user wrote it.
 * Pure: text in, text out.
 */
import { type Document, YAMLSeq, isMap, isNode, isScalar, isSeq, type YAMLMap } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { type Ctx, type FolderConfig, type PeerConfig, fail, lineOf, load } from './schema.js';

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

/** Adds a folder, or changes its path in place when its ID is listed. */
export function addFolder(text: string, folder: FolderConfig, file = DEFAULT_FILE): string {
  const ctx = editable(text, file);
  const seq = seqAt(ctx, 'folders');
  const existing = findById(seq, folder.id, false);
  if (existing) existing.set('path', folder.path);
  else seq.items.push(ctx.doc.createNode({ id: folder.id, path: folder.path }));
  return render(ctx.doc);
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

function editable(text: string, file: string): Ctx {
  const ctx = load(text, file);
  if (ctx.doc.contents !== null && !isMap(ctx.doc.contents)) fail(ctx, ctx.doc.contents, 'the config must be a map of settings');
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
