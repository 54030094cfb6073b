/**
 * Who a folder is shared with, as the config says: the one place the daemon
 * asks. A folder counts as shared with a node only when the node is a listed,
 * unrevoked peer and its ID is in the folder's `shareWith`; nothing a peer
 * says changes that. Pure: config in, answers out.
 */
import type { Config, FolderConfig } from './schema.js';

/**
 * The folders shared with `peerId` now (none for a node that is not a peer,
 * or is revoked). A paused folder is shared with nobody until it is unpaused.
 */
export function foldersSharedWith(config: Config, peerId: string): FolderConfig[] {
  if (!isPeer(config, peerId)) return [];
  return config.folders.filter((f) => f.shareWith.includes(peerId) && f.paused !== true);
}

/** Whether `folderId` is shared with `peerId` by this config. */
export function isSharedWith(config: Config, folderId: string, peerId: string): boolean {
  return foldersSharedWith(config, peerId).some((f) => f.id === folderId);
}

/**
 * What a link with `peerId` was set up from: the folders shared with it, with
 * their paths and modes. A link whose key changes starts over, so its Hello
 * and index exchange match the new shares (and an unshared or paused
 * folder's session state is gone at once).
 */
export function shareKey(config: Config, peerId: string): string {
  return JSON.stringify(foldersSharedWith(config, peerId).map((f) => [f.id, f.path, f.mode]));
}

/**
 * The folder IDs in `offered` this node would share on a pairing: the ones it
 * has too, in its own order. A pairing never names a folder into existence.
 */
export function commonFolders(config: Config, offered: readonly string[]): string[] {
  return config.folders.map((f) => f.id).filter((id) => offered.includes(id));
}

function isPeer(config: Config, peerId: string): boolean {
  return config.peers.some((p) => p.id === peerId) && !config.revoked.includes(peerId);
}
