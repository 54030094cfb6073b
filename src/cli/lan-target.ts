/**
 * What `wizard pair ARG` dials: ARG itself when it is an address, or the node
 * the running daemon saw announce that name (or ID prefix) on the LAN. A name
 * is a node's claim about itself, so the dial then also pins the ID the
 * announcement carried: another node answering at that address is refused.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { hasCode, UsageError } from '../core/errors.js';
import type { LanLookup } from '../discovery/lan-discovery.js';
import { controlRequest } from '../status/control.js';
import { printable } from './format.js';


/** Where to dial: an address, and the ID it must answer with when it came from the LAN. */
export interface PairTarget {
  readonly address: string;
  readonly expectedId?: string;
  /** The name as announced, when found on the LAN. */
  readonly lanName?: string;
}

/** A bare word (no port, no dot, no IP literal) may name a node on the LAN; anything else is an address. */
export function mayNameLanNode(arg: string): boolean {
  const t = arg.trim();
  return t !== '' && !t.includes(':') && !t.includes('.') && !t.includes('[') && net.isIP(t) === 0;
}

/**
 * Resolves `arg`. A bare word is looked up in the daemon's LAN sightings
 * first; one not seen there that resolves as a host name (localhost, a name
 * in /etc/hosts) is dialed as before; otherwise a one-line error says so.
 */
export async function resolvePairTarget(home: string, arg: string, resolves: (host: string) => Promise<boolean> = hostResolves): Promise<PairTarget> {
  if (!mayNameLanNode(arg)) return { address: arg };
  const name = arg.trim();
  let reply: LanLookup | undefined;
  try {
    reply = (await controlRequest(home, { cmd: 'lan-lookup', name })) as LanLookup;
  } catch (err) {
    if (!hasCode(err, 'NOT_RUNNING')) throw err;
  }
  const nodes = reply?.nodes ?? [];
  if (nodes.length > 1) {
    const which = nodes.map((n) => `${printable(n.name)} ${n.id.slice(0, 8)} at ${n.address}`).join(', ');
    throw new UsageError(`${nodes.length} nodes named ${printable(name)} on the LAN (${which}); give its short ID or host:port`);
  }
  const only = nodes[0];
  if (only !== undefined) return { address: only.address, expectedId: only.id, lanName: only.name };
  if (await resolves(name)) return { address: name };
  if (reply === undefined) throw new UsageError(`cannot look ${printable(name)} up on the LAN: no Wizard daemon runs here to hear announcements (start it), or give its host:port`);
  if (!reply.enabled) throw new UsageError(`no host named ${printable(name)}, and LAN discovery is off here (discovery.lan in config.yaml); give its host:port`);
  throw new UsageError(`no node named ${printable(name)} seen on the LAN in the last 90 s; give its host:port`);
}

async function hostResolves(host: string): Promise<boolean> {
  try {
    await lookup(host);
    return true;
  } catch {
    return false;
  }
}
