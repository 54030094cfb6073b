/**
 * Who a node that joined by invite is introduced to, and how a node records
 * a peer it joined or was introduced to. Pure: config in, text or values out.
 *
 * Only the inviter introduces, and only at the moment of a join: a node never
 * passes on a peer it was itself introduced to, so there is no chain of
 * introducers to bring a removed peer back (TRUST.md section 3).
 */
import { addPeer, shareFolder } from '../config/edit.js';
import type { Config, PeerConfig } from '../config/schema.js';
import type { IntroducedPeer } from '../protocol/messages.js';

/**
 * The peers of `config` a node joining with `folders` is introduced to: each
 * peer that shares at least one of them, with those it shares.
 */
export function introductionsFor(config: Config, joined: string, folders: readonly string[]): IntroducedPeer[] {
  const out: IntroducedPeer[] = [];
  for (const peer of config.peers) {
    if (peer.id === joined || config.revoked.includes(peer.id)) continue;
    const shared = config.folders.filter((f) => folders.includes(f.id) && f.shareWith.includes(peer.id)).map((f) => f.id);
    if (shared.length > 0) out.push({ id: peer.id, name: peer.name, address: peer.address, folders: shared });
  }
  return out;
}

/** Records `peer` in config text and shares `folders` with it. */
export function recordPeerText(text: string, peer: PeerConfig, folders: readonly string[], file?: string): string {
  let next = addPeer(text, peer, file);
  for (const id of folders) next = shareFolder(next, id, peer.id, file);
  return next;
}

/**
 * What of an introduction this node takes: the folders it has and shares with
 * the introducer (a peer cannot be given a folder its introducer could not
 * see), never for this node itself or a revoked one. Empty when nothing is to be recorded.
 */
export function acceptedFolders(config: Config, self: string, introducer: string, peer: IntroducedPeer): string[] {
  if (peer.id === self || peer.id === introducer || config.revoked.includes(peer.id)) return [];
  return config.folders.filter((f) => peer.folders.includes(f.id) && f.shareWith.includes(introducer)).map((f) => f.id);
}
