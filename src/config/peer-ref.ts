/**
 * What a person may type where a command asks for a peer: its node ID, any
 * prefix of the ID that only one peer has (the 8 hex digits every log line
 * shows), or its name. Pure: the peers come in, a peer or a one-line reason
 * comes out.
 */
import type { PeerConfig } from './schema.js';

/** The peer `ref` names, or why it names none. */
export type PeerRefResult = { readonly ok: true; readonly peer: PeerConfig } | { readonly ok: false; readonly error: string };

/** Peers listed in an error, at most: enough to recognise the one meant. */
const LISTED = 5;

/** Finds the peer `ref` names among `peers`: an exact ID, an exact name, a unique ID prefix, or a unique name ignoring case. */
export function resolvePeerRef(peers: readonly PeerConfig[], ref: string): PeerRefResult {
  const wanted = ref.trim();
  if (wanted === '') return { ok: false, error: 'no peer given: name one by its name or (a prefix of) its node ID' };
  const lower = wanted.toLowerCase();
  const byId = peers.find((p) => p.id === lower);
  if (byId !== undefined) return { ok: true, peer: byId };
  const byName = peers.filter((p) => p.name === wanted);
  if (byName.length === 1) return { ok: true, peer: byName[0] as PeerConfig };
  const candidates = uniqueById([...byName, ...(/^[0-9a-f]+$/.test(lower) ? peers.filter((p) => p.id.startsWith(lower)) : []), ...peers.filter((p) => p.name.toLowerCase() === lower)]);
  if (candidates.length === 1) return { ok: true, peer: candidates[0] as PeerConfig };
  if (candidates.length > 1) {
    return { ok: false, error: `'${wanted}' could be ${candidates.length} peers (${describe(candidates)}): give more of the node ID` };
  }
  if (peers.length === 0) return { ok: false, error: `no peer '${wanted}': this node has no peers yet; pair one with 'wizard pair HOST'` };
  return { ok: false, error: `no peer '${wanted}'; the peers are ${describe(peers)} ('wizard peer list' shows them all)` };
}

function uniqueById(peers: readonly PeerConfig[]): PeerConfig[] {
  return [...new Map(peers.map((p) => [p.id, p])).values()];
}

/** "laptop (a1b2c3d4), server (9f8e7d6c)" in order of name, cut after LISTED. */
function describe(peers: readonly PeerConfig[]): string {
  const sorted = [...peers].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const shown = sorted.slice(0, LISTED).map((p) => `${p.name === '' ? '(no name)' : p.name} (${p.id.slice(0, 8)})`);
  return peers.length > LISTED ? `${shown.join(', ')} and ${peers.length - LISTED} more` : shown.join(', ');
}
