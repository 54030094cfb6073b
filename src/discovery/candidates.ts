/**
 * Decisions over LAN sightings: which addresses to dial for a known peer, and
 * which seen node a name given to `wizard pair` means. Pure.
 */
import { formatHostPort } from '../transport/address.js';
import type { Sighting } from './sightings.js';

/** What the dial decision looks at for one peer. */
export interface CandidateInput {
  /** The address in config.yaml; '' when none is configured. */
  readonly configured: string;
  /** Where the peer was seen on the LAN, newest first (empty when discovery is off). */
  readonly seen: readonly Sighting[];
  /** The address the last link to this peer was made to, if any. */
  readonly lastGood?: string;
}

/**
 * The addresses to try, in order: the one that last worked, the configured
 * one, then each LAN sighting, newest first; no address twice. Any of them
 * only proves itself by the TLS handshake's pinned ID.
 */
export function dialCandidates(input: CandidateInput): string[] {
  const seen = input.seen.map((s) => formatHostPort(s.host, s.port));
  const ordered = [...(input.lastGood !== undefined && (input.lastGood === input.configured || seen.includes(input.lastGood)) ? [input.lastGood] : []), input.configured, ...seen];
  return [...new Set(ordered.filter((a) => a !== ''))];
}

/** The shortest node ID prefix taken as naming a node. */
export const MIN_ID_PREFIX = 6;

/**
 * The seen nodes a name means: those announcing exactly that name; failing
 * that, the same name in another case; failing that, an ID starting with it
 * (at least MIN_ID_PREFIX hex digits). Several answers mean the name is ambiguous.
 */
export function nodesNamed(seen: readonly Sighting[], query: string): Sighting[] {
  const exact = seen.filter((s) => s.name === query);
  if (exact.length > 0) return exact;
  const folded = seen.filter((s) => s.name.toLowerCase() === query.toLowerCase());
  if (folded.length > 0) return folded;
  const q = query.toLowerCase();
  if (q.length >= MIN_ID_PREFIX && /^[0-9a-f]+$/.test(q)) return seen.filter((s) => s.id.startsWith(q));
  return [];
}
