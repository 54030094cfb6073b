/**
 * The Hello of a pairing (intent 'pair'). The dialer lists the folder IDs it
 * offers to share; the node it dials answers with the IDs of those it has
 * and has now shared; both record the other with exactly those. Only the IDs
 * count: the other fields of a folder record keep the wire's shape, zeroed,
 * and nothing of either index is revealed before the two are peers.
 */
import { PROTOCOL_VERSION, type Hello, type HelloFolder } from '../protocol/messages.js';

/** A pair Hello's record for folder `id`. */
export function offeredFolder(id: string): HelloFolder {
  return { id, indexId: '0'.repeat(16), maxSequence: 0, digest: '0'.repeat(32), have: { indexId: '', sequence: 0 } };
}

/** A pair Hello from node `id` named `name`, listening on `listenPort`, offering `folderIds`. */
export function pairHello(id: string, name: string, listenPort: number, folderIds: readonly string[]): Hello {
  return { type: 'hello', protocol: PROTOCOL_VERSION, id, name, listenPort, intent: 'pair', folders: folderIds.map(offeredFolder) };
}

/**
 * How a close reason starts when a node with `trust: allowlist` keeps a
 * pairing request for a person to accept: the dialer records the node and
 * says who must accept it, instead of reporting a failure.
 */
export const AWAITING_APPROVAL = 'pairing awaits approval';
