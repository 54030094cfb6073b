/**
 * Names of nodes by their short IDs (the keys of version vectors, the IDs in
 * conflict copies' names), so that logs and conflict copies can say whose
 * edit something is in words.
 */
import type { Config } from './schema.js';

/**
 * The name of the node whose ID starts with `short` (case-insensitive): this
 * node's own (`config.name`) or a peer's from the config; '' when no node
 * has that ID, or its entry has no name.
 */
export function nodeNameOf(config: Pick<Config, 'name' | 'peers'>, selfId: string, short: string): string {
  const s = short.toLowerCase();
  if (s === '') return '';
  if (selfId.startsWith(s)) return config.name;
  return config.peers.find((p) => p.id.startsWith(s))?.name ?? '';
}
