import { pino } from 'pino';
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { encodeBody, encodeMessage } from '../../src/protocol/codec.js';
import { CODEC_IDS, compressBody } from '../../src/protocol/compression.js';
import { encodeCompressedFrame, encodeFrame } from '../../src/protocol/framing.js';
import { PROTOCOL_VERSION, type Hello, type IndexMessage } from '../../src/protocol/messages.js';
import { HIGH_WATER } from '../../src/transport/scheduler.js';
import { PeerSession, type SessionHandler, type SessionOptions } from '../../src/transport/session.js';
import { duplexPair } from '../support/streams.js';
import { waitFor } from '../support/wait.js';

const log = pino({ level: 'silent' });
const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);

function hello(id: string, overrides: Partial<Hello> = {}): Hello {
  return { type: 'hello', protocol: PROTOCOL_VERSION, id, name: id.slice(0, 4), listenPort: 0, intent: 'sync', folders: [], ...overrides };
}

function pair(opts = {}): [PeerSession, PeerSession] {
  const [x, y] = duplexPair();
  // Each side names the peer by the ID its certificate would prove.
  return [new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'out', opts), new PeerSession({ socket: y, clock: systemClock, log }, ID_A, 'in', opts)];
}

function handler(overrides: Partial<SessionHandler> = {}): SessionHandler & { indexes: IndexMessage[]; closedWith: string[] } {
  const indexes: IndexMessage[] = [];
  const closedWith: string[] = [];
  return {
    indexes,
    closedWith,
    onIndex: (m) => indexes.push(m),
    onRequest: () => Promise.resolve(Buffer.from('block')),
    onSumsRequest: (m) => Promise.resolve({ fileSize: 5000, blockSize: m.blockSize, first: m.first, group: m.group, weak: Buffer.alloc(4, 7), strong: Buffer.alloc(16, 9) }),
    onClose: (r) => closedWith.push(r),
    ...overrides,
  };
}

describe('PeerSession', () => {
  it('answers a sums request with sums, and an error with a rejection', async () => {
    const [a, b] = pair();
    await Promise.all([a.handshake(hello(ID_A)), b.handshake(hello(ID_B))]);
    a.attach(handler());
    b.attach(handler());
    const sums = await a.requestSums({ folder: 'f', path: 'big', hash: 'ab'.repeat(32), blockSize: 2048, first: 1, count: 1, group: 1 });
    expect(sums).toMatchObject({ type: 'sums', fileSize: 5000, blockSize: 2048, first: 1 });
    expect(Buffer.from(sums.weak).equals(Buffer.alloc(4, 7))).toBe(true);
    a.close('done');
  });

  it('exchanges hellos, then requests and responses in both directions', async () => {
    const [a, b] = pair();
    const [ha, hb] = await Promise.all([a.handshake(hello(ID_A)), b.handshake(hello(ID_B))]);
    expect(ha.id).toBe(ID_B);
    expect(hb.id).toBe(ID_A);
    b.attach(handler({ onRequest: (req) => Promise.resolve(Buffer.from(`${req.path}@${req.offset}`)) }));
    a.attach(handler());
    const data = await a.request({ folder: 'f', path: 'x.txt', hash: 'c'.repeat(64), offset: 7, length: 10 });
    expect(data.toString()).toBe('x.txt@7');
    expect(a.bytesSent).toBeGreaterThan(0);
    expect(a.bytesSent).toBe(b.bytesReceived);
  });

  it('passes a serving error back to the requester with its reason', async () => {
    const [a, b] = pair();
    await Promise.all([a.handshake(hello(ID_A)), b.handshake(hello(ID_B))]);
    b.attach(handler({ onRequest: () => Promise.reject(Object.assign(new Error('gone'), { wireCode: 'not-found' })) }));
    a.attach(handler());
    await expect(a.request({ folder: 'f', path: 'x', hash: 'c'.repeat(64), offset: 0, length: 1 })).rejects.toThrow(/gone/);
  });

  it('refuses a peer whose hello claims another ID than its certificate', async () => {
    const [a, b] = pair();
    const result = Promise.allSettled([a.handshake(hello(ID_A)), b.handshake(hello('c'.repeat(64)))]);
    const [ra] = await result;
    expect(ra.status).toBe('rejected');
    expect(String((ra as PromiseRejectedResult).reason)).toMatch(/claims ID/);
    await a.closed;
  });

  it('refuses another protocol version', async () => {
    const [a, b] = pair();
    const [ra] = await Promise.allSettled([a.handshake(hello(ID_A)), b.handshake(hello(ID_B, { protocol: PROTOCOL_VERSION + 1 }))]);
    expect(String((ra as PromiseRejectedResult).reason)).toMatch(/protocol/);
  });

  it('closes on a frame that is not a valid message, and tells the handler once', async () => {
    const [x, y] = duplexPair();
    const a = new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'out');
    const h = handler();
    a.attach(h);
    y.write(encodeFrame(Buffer.from([0xc1])));
    expect(await a.closed).toMatch(/protocol error/);
    expect(h.closedWith).toHaveLength(1);
  });

  it('closes on a frame header announcing more than the limit, before the body arrives', async () => {
    const [x, y] = duplexPair();
    const a = new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'out');
    y.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(await a.closed).toMatch(/protocol error/);
  });

  it('F5: closes a session when the peer sends something other than hello first', async () => {
    const [a, b] = pair();
    const handshake = a.handshake(hello(ID_A));
    b.send({ type: 'ping' });
    await expect(handshake).rejects.toThrow();
    expect(await a.closed).toMatch(/first message was not hello/);
  });

  it('keeps at most 128 of its requests in flight, below the 256 a responder serves, and sends the rest as answers come', async () => {
    const [a, b] = pair();
    await Promise.all([a.handshake(hello(ID_A)), b.handshake(hello(ID_B))]);
    // The responder holds every answer until the test lets them go.
    const held: Array<() => void> = [];
    const bh = handler({ onRequest: () => new Promise<Buffer>((resolve) => held.push(() => resolve(Buffer.from('b')))) });
    b.attach(bh);
    a.attach(handler());
    // Many transfer slots' worth of downloads, all asking at once (for blocks past a file's start: small files' first bytes go in batches).
    const answers = Array.from({ length: 300 }, (_, i) => a.request({ folder: 'f', path: `f${i}`, hash: 'c'.repeat(64), offset: 65536, length: 1 }));
    await waitFor('the responder to hold 128 requests', () => held.length === 128);
    // Every answer lets one more request go: the window moves, and the responder never holds more than 128.
    let most = 0;
    for (let answered = 0; answered < 300; answered++) {
      await waitFor('a request to answer', () => held.length > 0);
      most = Math.max(most, held.length);
      held.shift()?.();
    }
    expect(most).toBe(128);
    expect((await Promise.all(answers)).map(String)).toEqual(Array.from({ length: 300 }, () => 'b'));
    expect(bh.closedWith).toEqual([]);
  });

  it('fails pending requests when the connection closes', async () => {
    const [a, b] = pair();
    await Promise.all([a.handshake(hello(ID_A)), b.handshake(hello(ID_B))]);
    b.attach(handler({ onRequest: () => new Promise(() => {}) }));
    a.attach(handler());
    const pending = a.request({ folder: 'f', path: 'x', hash: 'c'.repeat(64), offset: 0, length: 1 });
    b.close('bye');
    await expect(pending).rejects.toThrow(/closed/);
  });

  it('closes a silent peer after the idle timeout', async () => {
    const [a] = pair({ idleTimeoutMs: 150, pingIntervalMs: 10_000 });
    expect(await a.closed).toMatch(/no traffic/);
  });
});

describe('PeerSession against a trickling peer (F1)', () => {
  /**
   * A session `a` after its handshake with a raw peer `y` over loopback TCP
   * (an in-memory pair aborts its inner streams when destroyed, and the
   * session destroys its socket a second after it closes), and one 200 KiB
   * frame of that peer's.
   */
  async function rawPeer(opts: { idleTimeoutMs: number }) {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const y = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [x] = (await once(server, 'connection')) as [net.Socket];
    server.close();
    y.on('error', () => {});
    onTestFinished(() => {
      y.destroy();
      x.destroy();
    });
    const a = new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'in', { ...opts, pingIntervalMs: 60_000 });
    y.write(encodeMessage(hello(ID_B)));
    await a.handshake(hello(ID_A));
    a.attach(handler());
    y.resume();
    const frame = encodeMessage({ type: 'response', id: 1, data: Buffer.alloc(200 * 1024, 7) });
    return { a, y, frame };
  }

  /** Writes `frame` `step` bytes every 10 ms until `stop` says so; returns how many bytes were written so far. */
  function trickle(y: NodeJS.WritableStream, frame: Buffer, step: number, stop: () => boolean): () => number {
    let at = 0;
    const timer = setInterval(() => {
      if (stop() || at >= frame.length) return clearInterval(timer);
      y.write(frame.subarray(at, at + step));
      at = Math.min(frame.length, at + step);
    }, 10);
    return () => at;
  }

  it('F1: closes a peer whose bytes never add up to a frame, though they keep arriving', async () => {
    const { a, y, frame } = await rawPeer({ idleTimeoutMs: 300 });
    let closed = false;
    void a.closed.then(() => (closed = true));
    trickle(y, frame, 1, () => closed);
    expect(await a.closed).toMatch(/too slowly/);
  });

  it('F1: keeps a slow link whose frame is still coming at a real rate', async () => {
    const { a, y, frame } = await rawPeer({ idleTimeoutMs: 300 });
    let closed = false;
    void a.closed.then(() => (closed = true));
    // 2 KiB every 10 ms: the 200 KiB frame takes about a second, over three idle windows.
    const sent = trickle(y, frame, 2048, () => closed);
    await waitFor('the whole frame to be sent', () => sent() === frame.length, 10_000);
    // The frame took over three idle windows: a session that took this link for a trickle has closed it by now.
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    a.close('done');
  });
});

describe('PeerSession backpressure', () => {
  it('stops reading blocks for a peer that does not read the answers, and resumes when it does', async () => {
    const [x, y] = duplexPair();
    const a = new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'in');
    y.write(encodeMessage(hello(ID_B)));
    await a.handshake(hello(ID_A));
    let calls = 0;
    a.attach(handler({ onRequest: () => (calls++, Promise.resolve(Buffer.alloc(1024 * 1024))) }));
    // The peer sends 40 requests for 1 MiB and never reads: its side of the pipe stays paused.
    y.pause();
    for (let id = 1; id <= 40; id++) {
      y.write(encodeMessage({ type: 'request', id, folder: 'f', path: 'big', hash: 'c'.repeat(64), offset: 0, length: 1024 * 1024 }));
    }
    await waitFor('the send queue to fill', () => a.pendingSendBytes >= 7 * 1024 * 1024);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBeLessThan(20);
    y.resume();
    await waitFor('every request answered once the peer reads', () => calls === 40);
    a.close('done');
  });
});

describe('PeerSession under a hostile load (issue 15)', () => {
  /** A session `a` over an in-memory pair, with the peer's raw end `y`; the peer's Hello is sent unless `greet` is false. */
  async function rawSession(opts: SessionOptions = {}, greet = true) {
    const [x, y] = duplexPair();
    const a = new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'in', opts);
    onTestFinished(() => a.close('test over'));
    if (!greet) return { a, y };
    y.write(encodeMessage(hello(ID_B)));
    await a.handshake(hello(ID_A));
    return { a, y };
  }

  function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  it('item 4: before the Hello, a compressed frame closes the session on its header, even one holding a valid hello', async () => {
    const { a, y } = await rawSession({}, false);
    // A Hello padded with an unknown key (allowed) compresses, as a bomb would.
    const body = encodeBody({ ...hello(ID_B), pad: 'z'.repeat(4000) } as Hello);
    const packed = compressBody({ codec: 'zstd', level: 3 }, body);
    if (packed === undefined) throw new Error('the padded hello did not compress');
    y.write(encodeCompressedFrame(CODEC_IDS.zstd, body.length, packed));
    await expect(a.handshake(hello(ID_A))).rejects.toThrow();
    expect(await a.closed).toMatch(/before its hello: reading frame header: a compressed frame \(codec 2\) is not accepted yet/);
  });

  it('item 4: before the Hello, a raw frame over the greeting limit is refused on its header, before its body arrives', async () => {
    const { a, y } = await rawSession({}, false);
    const header = Buffer.alloc(4);
    // One byte over what a Hello may be (docs/PROTOCOL.md 2.1: 512 KiB before the Hello).
    header.writeUInt32BE(512 * 1024 + 1, 0);
    y.write(header);
    expect(await within(a.closed, 2000, 'close')).toMatch(/before its hello: .*exceeds the limit of 524288/);
  });

  it('item 4: frames that arrive together are decoded one slice at a time, with the event loop free between slices', async () => {
    const { a, y } = await rawSession();
    const got: IndexMessage[] = [];
    a.attach(handler({ onIndex: (m) => got.push(m) }));
    const entries = Array.from({ length: 400 }, (_, i) => ({ path: `dir/file-${i}.txt`, type: 'file' as const, size: 1, mtimeMs: 1, mode: 0o644, hash: 'ab'.repeat(32), target: '', version: { aaaaaaaaaaaaaaaa: 1 + i }, deleted: false, sequence: 1 + i }));
    const frames = Array.from({ length: 20 }, () => encodeMessage({ type: 'index', folder: 'f', indexId: '0123456789abcdef', reset: false, entries }));
    // Each over the reader's slice of 64 KiB.
    expect(frames[0]?.length).toBeGreaterThan(64 * 1024);
    y.write(Buffer.concat(frames));
    const atNextTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(got.length)));
    expect(atNextTurn).toBeLessThan(frames.length);
    await waitFor('every index message', () => got.length === frames.length);
  });

  it('item 5: at most one pong waits for a peer that pings and never reads', async () => {
    const { a, y } = await rawSession();
    a.attach(handler());
    y.pause();
    const pings = Buffer.concat(Array.from({ length: 100_000 }, () => encodeMessage({ type: 'ping' })));
    const before = a.bytesReceived;
    y.write(pings);
    await waitFor('every ping read', () => a.bytesReceived - before === pings.length, 20_000);
    await waitFor('every ping handled', () => new Promise((r) => setImmediate(() => r(true))));
    // What the socket holds (HIGH_WATER, 256 KiB) plus one frame: not a pong per ping.
    expect(a.pendingSendBytes).toBeLessThan(HIGH_WATER + 1024);
  });

  it('item 5: closes a peer that keeps sending but has read nothing for the idle timeout', async () => {
    const { a, y } = await rawSession({ idleTimeoutMs: 300, pingIntervalMs: 100 });
    a.attach(handler());
    y.pause();
    // Enough pongs to fill the pipe's buffers, then a ping every 30 ms: never silent, never reading.
    y.write(Buffer.concat(Array.from({ length: 5_000 }, () => encodeMessage({ type: 'ping' }))));
    const timer = setInterval(() => y.write(encodeMessage({ type: 'ping' })), 30);
    onTestFinished(() => clearInterval(timer));
    expect(await within(a.closed, 5000, 'close')).toBe('peer has read nothing for 300 ms');
  });
});
