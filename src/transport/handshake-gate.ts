/**
 * Who may start a TLS handshake with the listener. A handshake costs us a
 * signature before the client has proved anything, and each one in progress
 * holds a TLS state until it ends or times out, so the listener bounds them:
 *
 * - per source (an IPv4 address, or an IPv6 /64, which one machine usually
 *   holds whole): at most `maxPendingPerSource` in progress, a newer one
 *   refused as it is accepted; and a budget of handshakes that end without a
 *   verified certificate (`failures`): each handshake takes a token as it
 *   starts and gives it back if it succeeds; with none left, the source's
 *   new connections are refused as they are accepted, before any TLS work,
 *   until the budget refills.
 *   A client without a certificate opening a thousand connections a second
 *   then costs a few signatures a second, and honest nodes elsewhere never
 *   wait on it. Handshakes that succeed cost nothing from the budget, so busy
 *   honest peers (or many nodes behind one NAT) are never refused for their number.
 * - in all: at most `maxPending`, the oldest closed first, as the last resort
 *   against a flood from many sources.
 */
import net from 'node:net';

/** Limits on handshakes; see the file comment. */
export interface HandshakeLimits {
  /** Connections in their handshake at once, from everywhere. */
  readonly maxPending: number;
  /** Connections in their handshake at once from one source. */
  readonly maxPendingPerSource: number;
  /** Failed handshakes one source may have in a burst, and per second after it. */
  readonly failures: { readonly burst: number; readonly perSecond: number };
}

/** What the listener uses unless told otherwise. */
export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = {
  maxPending: 128,
  maxPendingPerSource: 16,
  // Honest handshakes fail rarely (a peer from another CA, a network cut): 32 at once and 8 a second is plenty.
  failures: { burst: 32, perSecond: 8 },
};

/** Sources whose budgets are remembered; past it the longest untouched are forgotten (they start full again). */
const MAX_SOURCES = 16_384;

/**
 * The source a client address counts against: an IPv4 address as it is (an
 * IPv4-mapped IPv6 address as its IPv4 form), an IPv6 address as its /64.
 */
export function sourceOf(address: string | undefined): string {
  if (address === undefined || address === '') return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!net.isIPv6(address)) return address;
  const hextets = expandIPv6(address.replace(/%.*$/, ''));
  return `${hextets.slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address;
  // An IPv4 tail (::1.2.3.4, 64:ff9b::1.2.3.4) is two hextets.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((h) => parseInt(h, 16).toString(16));
}

/**
 * Failed-handshake budgets per source: token buckets that refill at
 * `perSecond` up to `burst`. A handshake takes a token when it starts and
 * gives it back when it succeeds, so a failing source can never have more
 * handshakes started than its budget holds, however many it runs at once.
 * Pure: time comes in as an argument.
 */
export class FailureBudget {
  private readonly sources = new Map<string, { tokens: number; atMs: number }>();

  constructor(private readonly limits: HandshakeLimits['failures']) {}

  /** Takes a token for a handshake from `source` starting at `nowMs`; false when it has none left. */
  take(source: string, nowMs: number): boolean {
    const bucket = this.sources.get(source) ?? { tokens: this.limits.burst, atMs: nowMs };
    if (this.refill(bucket, nowMs) < 1) return false;
    bucket.tokens -= 1;
    // Re-inserted, so the map's order is the order sources last took a token in.
    this.sources.delete(source);
    this.sources.set(source, bucket);
    if (this.sources.size > MAX_SOURCES) this.forgetOldest(nowMs);
    return true;
  }

  /** A handshake from `source` succeeded: its token comes back. */
  giveBack(source: string, nowMs: number): void {
    const bucket = this.sources.get(source);
    if (bucket === undefined) return;
    this.refill(bucket, nowMs);
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + 1);
  }

  private refill(bucket: { tokens: number; atMs: number }, nowMs: number): number {
    const elapsedS = Math.max(0, nowMs - bucket.atMs) / 1000;
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + elapsedS * this.limits.perSecond);
    bucket.atMs = nowMs;
    return bucket.tokens;
  }

  /**
   * Drops the sources whose budgets are full again, then those that took a
   * token longest ago, down to three quarters of MAX_SOURCES, so the walk is
   * paid for once per many tokens.
   */
  private forgetOldest(nowMs: number): void {
    for (const [source, bucket] of this.sources) {
      if (this.refill(bucket, nowMs) >= this.limits.burst) this.sources.delete(source);
    }
    for (const source of this.sources.keys()) {
      if (this.sources.size <= (MAX_SOURCES * 3) / 4) break;
      this.sources.delete(source);
    }
  }
}

/** What the listener hears about the connections the gate closes or refuses; one call per burst, not per socket. */
export interface GateReports {
  /** `count` of the oldest connections were closed because more than `cap` were in their handshake at once. */
  onEvicted(count: number, cap: number): void;
  /** Connections from `source` were refused: `cap` of its handshakes were in progress already. */
  onBusy(cap: number, source: string): void;
  /** Connections from `source` were refused: it failed too many handshakes. */
  onRefused(source: string): void;
}

/** The server's raw sockets, and which of them are still in their handshake. */
export interface GatedSockets {
  /** Every raw socket the server has accepted and not yet seen closed. */
  readonly all: Set<net.Socket>;
  /** A connection finished its handshake: it no longer counts against the caps, and did not fail. */
  handshakeDone(socket: net.Socket): void;
}

/** How long one report covers: a flood makes one line per this long, not one per socket. */
const REPORT_WINDOW_MS = 10_000;

/** One accepted connection in its handshake. */
interface Pending {
  readonly raw: net.Socket;
  readonly source: string;
  readonly endpoint: string;
  /** Its handshake has ended (done, failed, or closed by the gate): it counts no more. */
  settled: boolean;
}

/**
 * Watches `server`'s accepted connections and applies `limits` (see the file
 * comment). A connection that ends before `handshakeDone` without the gate
 * having closed it counts as a failed handshake of its source.
 */
export function gateHandshakes(server: net.Server, limits: HandshakeLimits, reports: GateReports, now: () => number = Date.now): GatedSockets {
  const all = new Set<net.Socket>();
  /** In arrival order, so the first is the oldest. */
  const pending = new Map<net.Socket, Pending>();
  /** By TCP endpoints, which the raw socket and its TLS socket share. */
  const byEndpoint = new Map<string, Pending>();
  const pendingPerSource = new Map<string, number>();
  const budget = new FailureBudget(limits.failures);
  const reported = new Map<string, number>();

  /** Calls `report` at most once per REPORT_WINDOW_MS for `key`. */
  const oncePerWindow = (key: string, report: () => void): void => {
    const at = reported.get(key);
    if (at !== undefined && now() - at < REPORT_WINDOW_MS) return;
    reported.set(key, now());
    if (reported.size > 1024) reported.clear();
    report();
  };

  const settle = (entry: Pending, outcome: 'done' | 'failed' | 'closed by the gate'): void => {
    if (entry.settled) return;
    entry.settled = true;
    pending.delete(entry.raw);
    if (byEndpoint.get(entry.endpoint) === entry) byEndpoint.delete(entry.endpoint);
    const left = (pendingPerSource.get(entry.source) ?? 1) - 1;
    if (left > 0) pendingPerSource.set(entry.source, left);
    else pendingPerSource.delete(entry.source);
    // A failure keeps the token it took; a handshake the gate cut short is not the source's failure.
    if (outcome !== 'failed') budget.giveBack(entry.source, now());
  };

  server.on('connection', (raw: net.Socket) => {
    const endpoint = endpointKey(raw);
    const source = sourceOf(raw.remoteAddress);
    all.add(raw);
    raw.once('close', () => all.delete(raw));
    // Its port is in use again, so the connection that had it is gone, though its close may not have come yet.
    const stale = byEndpoint.get(endpoint);
    if (stale !== undefined) settle(stale, 'failed');
    if ((pendingPerSource.get(source) ?? 0) >= Math.max(1, limits.maxPendingPerSource)) {
      // The newest waits its turn, not the oldest: the oldest may be about to finish.
      raw.destroy();
      oncePerWindow(`busy ${source}`, () => reports.onBusy(limits.maxPendingPerSource, source));
      return;
    }
    if (!budget.take(source, now())) {
      raw.destroy();
      oncePerWindow(`refused ${source}`, () => reports.onRefused(source));
      return;
    }
    const entry: Pending = { raw, source, endpoint, settled: false };
    pending.set(raw, entry);
    byEndpoint.set(endpoint, entry);
    pendingPerSource.set(source, (pendingPerSource.get(source) ?? 0) + 1);
    raw.once('close', () => settle(entry, 'failed'));
    let evicted = 0;
    for (const oldest of pending.values()) {
      if (pending.size <= Math.max(1, limits.maxPending)) break;
      settle(oldest, 'closed by the gate');
      oldest.raw.destroy();
      evicted++;
    }
    if (evicted > 0) oncePerWindow('evicted', () => reports.onEvicted(evicted, limits.maxPending));
  });

  return {
    all,
    handshakeDone(socket) {
      const entry = byEndpoint.get(endpointKey(socket));
      if (entry !== undefined) settle(entry, 'done');
    },
  };
}

function endpointKey(socket: net.Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}
