/**
 * A TCP proxy on loopback that injects network faults between two real
 * daemons: delay, a bandwidth cap, a cut (reset), a black hole (bytes
 * silently dropped, no FIN, no RST: a dead NAT or a pulled cable), and a
 * flipped byte. It forwards raw TLS, so what the daemons see is exactly what
 * a bad network would give them. Closes itself when the test finishes.
 */
import net from 'node:net';
import { onTestFinished } from 'vitest';

/** Which way bytes flow: from the dialing side to the target, or back. */
export type Direction = 'toTarget' | 'toClient';

/** The faults in force; change them at any time. */
export interface Faults {
  /** Extra delay per chunk, ms. */
  delayMs: number;
  /** Bytes per second in each direction of each connection; 0 = unlimited. */
  bytesPerSecond: number;
  /** While true, every byte is swallowed and nothing is closed. */
  blackHole: boolean;
}

/** One proxied connection's pair of sockets. */
interface Pipe {
  readonly client: net.Socket;
  readonly target: net.Socket;
}

/** A running fault proxy. */
export class FaultProxy {
  readonly faults: Faults = { delayMs: 0, bytesPerSecond: 0, blackHole: false };
  private readonly pipes = new Set<Pipe>();
  /** Bytes forwarded so far, per direction (dropped bytes excluded). */
  readonly forwarded: Record<Direction, number> = { toTarget: 0, toClient: 0 };
  private corruptions: Array<{ direction: Direction; afterBytes: number }> = [];
  /** Connections accepted so far. */
  connections = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 and forwards each connection to `targetPort`; closed when the test ends unless `closeWithTest` is false. */
  static async start(targetPort: number, opts: { closeWithTest?: boolean } = {}): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    if (opts.closeWithTest !== false) onTestFinished(() => proxy.close());
    return proxy;
  }

  /** Open connections. */
  get open(): number {
    return this.pipes.size;
  }

  /** Resets every open connection (RST on both sides), as a dropped route or a killed middlebox would. */
  cut(): void {
    for (const pipe of this.pipes) {
      pipe.client.resetAndDestroy();
      pipe.target.resetAndDestroy();
    }
    this.pipes.clear();
  }

  /**
   * Flips one byte in `direction`, `afterBytes` bytes from now (counted on
   * the first connection that carries them), so it lands in a TLS record
   * well after the handshake.
   */
  corrupt(direction: Direction, afterBytes: number): void {
    this.corruptions.push({ direction, afterBytes: this.forwarded[direction] + afterBytes });
  }

  /** Pending corruptions not yet applied. */
  get corruptionsPending(): number {
    return this.corruptions.length;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, targetPort: number): void {
    this.connections++;
    const target = net.connect(targetPort, '127.0.0.1');
    const pipe = { client, target };
    this.pipes.add(pipe);
    const end = () => {
      if (!this.pipes.delete(pipe)) return;
      client.destroy();
      target.destroy();
    };
    for (const s of [client, target]) {
      s.on('error', end);
      s.on('close', end);
    }
    this.forward(client, target, 'toTarget');
    this.forward(target, client, 'toClient');
  }

  /** Copies `from` to `to` chunk by chunk, applying the faults in order, with backpressure. */
  private forward(from: net.Socket, to: net.Socket, direction: Direction): void {
    let queue = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      from.pause();
      queue = queue.then(async () => {
        if (this.faults.blackHole) return;
        if (this.faults.delayMs > 0) await sleep(this.faults.delayMs);
        for (let at = 0; at < chunk.length; ) {
          // Throttled: at most a tenth of a second's worth per write, then wait that tenth.
          const step = this.faults.bytesPerSecond > 0 ? Math.max(1, Math.floor(this.faults.bytesPerSecond / 10)) : chunk.length;
          const piece = Buffer.from(chunk.subarray(at, at + step));
          this.applyCorruption(piece, direction);
          if (this.faults.blackHole || to.destroyed) return;
          this.forwarded[direction] += piece.length;
          if (!to.write(piece)) {
            await new Promise((r) => {
              to.once('drain', r);
              to.once('close', r);
            });
          }
          at += piece.length;
          if (this.faults.bytesPerSecond > 0) await sleep(Math.round((piece.length / this.faults.bytesPerSecond) * 1000));
        }
      });
      void queue.finally(() => from.resume());
    });
    from.on('end', () => void queue.finally(() => to.end()));
  }

  private applyCorruption(piece: Buffer, direction: Direction): void {
    const start = this.forwarded[direction];
    for (const c of this.corruptions) {
      if (c.direction !== direction || c.afterBytes < start || c.afterBytes >= start + piece.length) continue;
      const i = c.afterBytes - start;
      piece[i] = (piece[i] ?? 0) ^ 0xff;
      this.corruptions = this.corruptions.filter((x) => x !== c);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
