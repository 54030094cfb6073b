/**
 * Folder offers: folders a connected peer shares with this node that this
 * node does not have. Shown in `wizard status`, taken with `wizard folder
 * accept ID PATH`, hidden with `wizard folder decline ID`. An offer never
 * binds to a folder this node has (a folder with that ID here is not an
 * offer; sharing it is `wizard folder share`), and carries no path: where it
 * goes is the user's to say. Pure: config and live Hellos in, offers out.
 */
import type { Config } from '../config/schema.js';

/** One offered folder and the peers offering it. */
export interface FolderOffer {
  readonly folder: string;
  /** Node IDs of the connected peers whose Hello names it, in config order. */
  readonly peers: string[];
  /** The user declined it (`declinedFolders`): status does not show it, `folder accept` still takes it. */
  readonly declined: boolean;
}

/** What a live link says: the peer, and the folder IDs its Hello named (only those it shares with us). */
export interface LinkFolders {
  readonly peer: string;
  readonly folders: readonly string[];
}

/** The offers `links` make to a node with `config`, in order of folder ID. */
export function folderOffers(config: Config, links: readonly LinkFolders[]): FolderOffer[] {
  const have = new Set(config.folders.map((f) => f.id));
  const byFolder = new Map<string, string[]>();
  for (const peer of config.peers) {
    const link = links.find((l) => l.peer === peer.id);
    for (const id of link?.folders ?? []) {
      if (have.has(id)) continue;
      const peers = byFolder.get(id) ?? [];
      if (!peers.includes(peer.id)) peers.push(peer.id);
      byFolder.set(id, peers);
    }
  }
  return [...byFolder.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([folder, peers]) => ({ folder, peers, declined: config.declinedFolders.includes(folder) }));
}
