/**
 * The `discovery` section of config.yaml: `lan: true|false`. A config from
 * before discovery had no section and reads as the default (on).
 */
import type { Node } from 'yaml';
import { bool, type Ctx, fields } from './yaml-nodes.js';

/** How this node finds peers beyond their configured addresses. */
export interface DiscoveryConfig {
  /** Announce this node on the local network and hear others' announcements (UDP broadcast, port 7844). */
  lan: boolean;
}

/** The default: on, as a paired peer whose address changed is then found again. */
export const DISCOVERY_DEFAULTS: Readonly<DiscoveryConfig> = Object.freeze({ lan: true });

/** Reads the section; absent or empty keys take the defaults. */
export function parseDiscovery(ctx: Ctx, node: Node | null): DiscoveryConfig {
  const f = fields(ctx, node, ['lan']);
  return { lan: bool(ctx, f.get('lan')?.value ?? null, 'discovery.lan', DISCOVERY_DEFAULTS.lan) };
}
