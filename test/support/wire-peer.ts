/**
 * A scripted peer that speaks docs/PROTOCOL.md from its own code: node's
 * TLS, the frame layout of section 2 and the msgpack of wire-msgpack.ts. It
 * imports nothing from src/, so a test that attacks the daemon with it
 * cannot share a bug with the daemon's session, codec or validation code.
 *
 * By default it behaves: it answers pings and serves the content it was
 * given. A test turns either off, or writes whatever bytes it likes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import lz4 from 'lz4';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { pack, unpack } from './wire-msgpack.js';

/** The protocol version this client speaks (PROTOCOL.md, title). */
export const WIRE_PROTOCOL = 7;
/** Largest frame body (PROTOCOL.md section 2). */
export const WIRE_MAX_FRAME = 4 * 1024 * 1024;
const CODEC = { none: 0, lz4: 1, zstd: 2 } as const;

/** A message as decoded off the wire: a plain map with a `type`. */
export type WireMessage = Record<string, unknown> & { type: string };

/** A file entry as PROTOCOL.md section 3 writes it. */
export interface WireEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  mtimeMs: number;
  mode: number;
  hash: string;
  target: string;
  version: Record<string, number>;
  deleted: boolean;
  sequence: number;
}

/** The TLS identity the client presents: a node home's certs dir, or none at all. */
export interface WireIdentity {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/** Reads the identity of the node whose home is `home` (HOME/certs/node.key, node.crt, ca.crt). */
export function identityOf(home: string): WireIdentity {
  const dir = path.join(home, 'certs');
  return {
    key: readFileSync(path.join(dir, 'node.key'), 'utf8'),
    cert: readFileSync(path.join(dir, 'node.crt'), 'utf8'),
    ca: readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
  };
}

/** A node ID: the lowercase hex SHA-256 of a certificate's DER (PROTOCOL.md section 1). */
export function nodeIdOfPem(certPem: string): string {
  return createHash('sha256').update(derOf(certPem)).digest('hex');
}

function derOf(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

/** The short ID (version vector key) of a node ID. */
export function shortId(nodeId: string): string {
  return nodeId.slice(0, 16);
}

/**
 * The content hash of PROTOCOL.md section 3.1 as lowercase hex, written out
 * here from the spec (this file imports nothing from src/): SHA-256 of a tag,
 * the size and the SHA-256 of every 64 KiB leaf.
 */
export function contentHashHex(content: Buffer | string): string {
  const data = Buffer.from(content);
  const head = Buffer.alloc(18 + 8);
  head.write('wizard-content-v2\0', 'latin1');
  head.writeBigUInt64BE(BigInt(data.length), 18);
  const root = createHash('sha256').update(head);
  for (let at = 0; at === 0 || at < data.length; at += 65536) root.update(createHash('sha256').update(data.subarray(at, at + 65536)).digest());
  return root.digest('hex');
}

/** Frames a body with codec 0 (PROTOCOL.md section 2). */
export function frame(body: Buffer, codec = 0, length = body.length): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((codec << 24) | (length & 0xffffff)) >>> 0, 0);
  return Buffer.concat([head, body]);
}

/** Frames `raw` compressed with LZ4 (block format) or zstd, with the raw-length prefix; `claimRaw` lies about the raw length. */
export function compressedFrame(codec: 'lz4' | 'zstd', raw: Buffer, claimRaw = raw.length): Buffer {
  let payload: Buffer;
  if (codec === 'lz4') {
    const out = Buffer.alloc(lz4.encodeBound(raw.length));
    const n = lz4.encodeBlock(raw, out);
    payload = out.subarray(0, n);
  } else payload = zstdCompress(raw);
  const lengthPrefix = Buffer.alloc(4);
  lengthPrefix.writeUInt32BE(claimRaw, 0);
  return frame(Buffer.concat([lengthPrefix, payload]), CODEC[codec]);
}

/** How the peer behaves and whom it dials. */
export interface WirePeerOptions {
  readonly host?: string;
  readonly port: number;
  /** The source address to connect from (another loopback address, say, to stand for another machine). */
  readonly localAddress?: string;
  /** The identity to present; undefined connects without a client certificate. */
  readonly identity: WireIdentity | undefined;
  /** Answer `ping` with `pong` (default true). */
  readonly answerPings?: boolean;
  /** Read from the socket (default true); false leaves everything the daemon sends unread. */
  readonly read?: boolean;
  /** ALPN protocols to offer: ['wizard-enroll/1'] for enrolment (PROTOCOL.md section 7). */
  readonly alpn?: string[];
}

/** Why and how the link ended. */
export interface WireEnd {
  /** The reason of the daemon's `close` message, if it sent one. */
  readonly reason: string | undefined;
  /** Milliseconds from connect to the socket's end. */
  readonly afterMs: number;
}

/** One file of a `files-request` (PROTOCOL.md section 3). */
export interface WireFileAsk {
  readonly path: string;
  readonly hash: string;
  readonly length: number;
}

/** One TLS connection to a daemon, driven by a test. */
export class WirePeer {
  /** Every message the daemon sent, in order. */
  readonly received: WireMessage[] = [];
  /** Content served to the daemon's `request`s, by hash. */
  readonly serves = new Map<string, Buffer>();
  /** Resolves when the connection has ended. */
  readonly ended: Promise<WireEnd>;
  /** The daemon's node ID, from its certificate. */
  readonly remoteId: string;
  /** Called for each `request` instead of serving from `serves`, when set. */
  onRequest: ((msg: WireMessage) => void) | undefined;
  /** Called for each `files-request` instead of serving it from `serves`, when set. */
  onFilesRequest: ((msg: WireMessage) => void) | undefined;
  /** Called for each `sums-request` instead of refusing it, when set. */
  onSumsRequest: ((msg: WireMessage) => void) | undefined;
  /** Called for every message the daemon sends, after the built-in handling, when set. */
  onMessage: ((msg: WireMessage) => void) | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private closeReason: string | undefined;
  private waiters: Array<{ match: (m: WireMessage) => boolean; resolve: (m: WireMessage) => void }> = [];
  private readonly startedAt = Date.now();
  private nextRequestId = 1;

  private constructor(
    readonly socket: tls.TLSSocket,
    private readonly opts: WirePeerOptions,
  ) {
    this.remoteId = createHash('sha256').update(socket.getPeerCertificate().raw).digest('hex');
    this.ended = new Promise((resolve) => socket.once('close', () => resolve({ reason: this.closeReason, afterMs: Date.now() - this.startedAt })));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (opts.read === false) socket.pause();
  }

  /** Wraps a connection a WireListener accepted. */
  static accepted(socket: tls.TLSSocket, opts: WirePeerOptions): WirePeer {
    return new WirePeer(socket, opts);
  }

  /** Opens a TLS 1.3 connection (no name check: the daemon's ID is what identifies it). */
  static connect(opts: WirePeerOptions): Promise<WirePeer> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: opts.host ?? '127.0.0.1',
        port: opts.port,
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
        minVersion: 'TLSv1.3',
        ...(opts.identity === undefined ? {} : { key: opts.identity.key, cert: opts.identity.cert, ca: opts.identity.ca }),
        rejectUnauthorized: opts.identity !== undefined,
        checkServerIdentity: () => undefined,
        ...(opts.alpn === undefined ? {} : { ALPNProtocols: opts.alpn }),
      });
      socket.once('secureConnect', () => resolve(new WirePeer(socket, opts)));
      socket.once('error', reject);
    });
  }

  /** Whether the socket is still open. */
  get isOpen(): boolean {
    return !this.socket.destroyed;
  }

  /** Sends `msg` encoded by wire-msgpack, framed raw. */
  send(msg: Record<string, unknown>): void {
    this.sendRaw(frame(pack(msg)));
  }

  /** Sends bytes as they are. */
  sendRaw(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Waits for the next message (already received or still to come) that `match` accepts. */
  next(match: string | ((m: WireMessage) => boolean), timeoutMs = 10_000): Promise<WireMessage> {
    const test = typeof match === 'string' ? (m: WireMessage) => m.type === match : match;
    const found = this.received.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { match: test, resolve: (m: WireMessage) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${typeof match === 'string' ? match : 'matching message'} within ${timeoutMs} ms; got ${this.received.map((m) => m.type).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends a Hello (PROTOCOL.md section 3) and waits for the daemon's. */
  async hello(fields: Partial<WireHello> & { id: string }): Promise<WireMessage> {
    this.send({ type: 'hello', protocol: WIRE_PROTOCOL, name: 'wire-peer', listenPort: 0, intent: 'sync', folders: [], ...fields });
    return this.next('hello');
  }

  /**
   * Sends a `request` (PROTOCOL.md section 3) with a fresh id and waits for
   * its answer: a `response` or an `error` with that id. Rejects when the
   * link ends first, with the daemon's close reason.
   */
  async request(fields: { folder: string; path: string; hash: string; offset: number; length: number }, timeoutMs = 10_000): Promise<WireMessage> {
    const id = this.nextRequestId++;
    this.send({ type: 'request', id, ...fields });
    const answer = this.next((m) => (m.type === 'response' || m.type === 'error') && m.id === id, timeoutMs).then((m) => ({ m }));
    // Whichever loses the race settles later unobserved; neither may become an unhandled rejection.
    answer.catch(() => undefined);
    const first = await Promise.race([answer, this.ended.then((end) => ({ end }))]);
    if ('end' in first) throw new Error(`link ended before request ${id} was answered: ${first.end.reason ?? 'no close message'}`);
    return first.m;
  }

  /**
   * Sends a `files-request` (PROTOCOL.md section 3) with a fresh id, the
   * fields as given (a test may break any rule), and waits for its answer: a
   * `files` or an `error` with that id. Rejects when the link ends first.
   */
  async filesRequest(folder: string, files: unknown[], timeoutMs = 10_000): Promise<WireMessage> {
    const id = this.nextRequestId++;
    this.send({ type: 'files-request', id, folder, files });
    const answer = this.next((m) => (m.type === 'files' || m.type === 'error') && m.id === id, timeoutMs).then((m) => ({ m }));
    answer.catch(() => undefined);
    const first = await Promise.race([answer, this.ended.then((end) => ({ end }))]);
    if ('end' in first) throw new Error(`link ended before files-request ${id} was answered: ${first.end.reason ?? 'no close message'}`);
    return first.m;
  }

  /** One file's answer from `serves`: its first `length` bytes, or not-found. */
  answerFile(f: WireFileAsk): Record<string, unknown> {
    const data = this.serves.get(f.hash);
    if (data === undefined) return { path: f.path, code: 'not-found', message: 'not here' };
    return { path: f.path, data: data.subarray(0, f.length) };
  }

  /** Ends the connection politely. */
  close(reason = 'done'): void {
    if (this.socket.destroyed) return;
    this.send({ type: 'close', reason });
    this.socket.end();
  }

  /** Stops reading: the daemon's writes back up. */
  pauseReading(): void {
    this.socket.pause();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 4) return;
      const head = this.buffer.readUInt32BE(0);
      const codec = head >>> 24;
      const length = head & 0xffffff;
      if (this.buffer.length < 4 + length) return;
      let body: Buffer = this.buffer.subarray(4, 4 + length);
      this.buffer = this.buffer.subarray(4 + length);
      if (codec !== CODEC.none) {
        const rawLength = body.readUInt32BE(0);
        const payload = body.subarray(4);
        if (codec === CODEC.lz4) {
          const out = Buffer.alloc(rawLength);
          lz4.decodeBlock(payload, out);
          body = out;
        } else body = zstdDecompress(payload);
      }
      this.deliver(unpack(body) as WireMessage);
    }
  }

  private deliver(msg: WireMessage): void {
    this.received.push(msg);
    if (msg.type === 'close') this.closeReason = String(msg.reason);
    if (msg.type === 'ping' && this.opts.answerPings !== false) this.send({ type: 'pong' });
    if (msg.type === 'request') {
      if (this.onRequest !== undefined) this.onRequest(msg);
      else {
        const data = this.serves.get(String(msg.hash));
        if (data === undefined) this.send({ type: 'error', id: msg.id, code: 'not-found', message: 'not here' });
        else this.send({ type: 'response', id: msg.id, data: data.subarray(Number(msg.offset), Number(msg.offset) + Number(msg.length)) });
      }
    }
    if (msg.type === 'files-request') {
      if (this.onFilesRequest !== undefined) this.onFilesRequest(msg);
      // PROTOCOL.md section 8: one answer per file asked, in order, naming its path: its bytes, or why not.
      else this.send({ type: 'files', id: msg.id, files: (msg.files as WireFileAsk[]).map((f) => this.answerFile(f)) });
    }
    if (msg.type === 'sums-request') {
      if (this.onSumsRequest !== undefined) this.onSumsRequest(msg);
      else this.send({ type: 'error', id: msg.id, code: 'not-found', message: 'no sums here' });
    }
    this.onMessage?.(msg);
    for (const w of this.waiters.filter((x) => x.match(msg))) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(msg);
    }
  }
}

/**
 * A TLS 1.3 listener with a node's identity, for a daemon to dial (a peer's
 * address in its config): it asks for the daemon's certificate, checks it
 * against the CA, and hands each connection to `onPeer` as a WirePeer.
 */
export class WireListener {
  /** Every connection accepted, in order. */
  readonly accepted: WirePeer[] = [];

  private constructor(private readonly server: tls.Server) {}

  /** Listens on `host:port` as `identity`. */
  static listen(opts: { identity: WireIdentity; port: number; host?: string; onPeer: (peer: WirePeer) => void }): Promise<WireListener> {
    const server = tls.createServer({ key: opts.identity.key, cert: opts.identity.cert, ca: opts.identity.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    const listener = new WireListener(server);
    server.on('secureConnection', (socket) => {
      const peer = WirePeer.accepted(socket, { port: opts.port, identity: opts.identity });
      listener.accepted.push(peer);
      opts.onPeer(peer);
    });
    server.on('tlsClientError', () => undefined);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve(listener));
    });
  }

  /** Stops listening and ends every connection it accepted. */
  close(): Promise<void> {
    for (const peer of this.accepted) peer.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A Hello's fields (PROTOCOL.md section 3). */
export interface WireHello {
  protocol: number;
  id: string;
  name: string;
  listenPort: number;
  intent: 'sync' | 'pair';
  folders: WireHelloFolder[];
}

/** One folder record of a Hello. */
export interface WireHelloFolder {
  id: string;
  indexId: string;
  maxSequence: number;
  digest: string;
  have: { indexId: string; sequence: number };
}

/** A folder record that differs from any real index, so the daemon sends its whole index and takes ours. */
export function folderRecord(id: string, overrides: Partial<WireHelloFolder> = {}): WireHelloFolder {
  return { id, indexId: randomBytes(8).toString('hex'), maxSequence: 1_000_000, digest: 'f'.repeat(32), have: { indexId: '', sequence: 0 }, ...overrides };
}

/** Builds index entries with increasing sequences and versions for one author. */
export class EntryMaker {
  private sequence = 1;
  constructor(
    /** The author's node ID (its short ID keys the versions). */
    private readonly authorId: string,
    /** Where the content of file entries is registered for serving. */
    private readonly serves?: Map<string, Buffer>,
  ) {}

  /** The next counter, so each entry dominates the ones made before it. */
  private bump(): { version: Record<string, number>; sequence: number } {
    const n = this.sequence++;
    return { version: { [shortId(this.authorId)]: n }, sequence: n };
  }

  file(rel: string, content: string | Buffer, extra: Partial<WireEntry> = {}): WireEntry {
    const data = Buffer.from(content);
    const hash = contentHashHex(data);
    this.serves?.set(hash, data);
    return { path: rel, type: 'file', size: data.length, mtimeMs: Date.now(), mode: 0o644, hash, target: '', deleted: false, ...this.bump(), ...extra };
  }

  dir(rel: string, extra: Partial<WireEntry> = {}): WireEntry {
    return { path: rel, type: 'dir', size: 0, mtimeMs: Date.now(), mode: 0o755, hash: '', target: '', deleted: false, ...this.bump(), ...extra };
  }

  symlink(rel: string, target: string, extra: Partial<WireEntry> = {}): WireEntry {
    return { path: rel, type: 'symlink', size: 0, mtimeMs: Date.now(), mode: 0o777, hash: '', target, deleted: false, ...this.bump(), ...extra };
  }

  /** A tombstone for `rel` of `type`, newer than everything made before. */
  deleted(rel: string, type: WireEntry['type'] = 'file', extra: Partial<WireEntry> = {}): WireEntry {
    return { path: rel, type, size: 0, mtimeMs: Date.now(), mode: 0o644, hash: '', target: '', deleted: true, ...this.bump(), ...extra };
  }
}

/** An `index` message (PROTOCOL.md section 3). */
export function indexMessage(folder: string, entries: unknown[], indexId = '0123456789abcdef', reset = false): Record<string, unknown> {
  return { type: 'index', folder, indexId, reset, entries };
}

/**
 * The weak sum of PROTOCOL.md section 8.1 (librsync's rrs0): for each byte b,
 * s1 += b + 31 and s2 += s1, both 16-bit; the sum is s2 << 16 | s1.
 */
export function weakSum(block: Buffer): number {
  let s1 = 0;
  let s2 = 0;
  for (const b of block) {
    s1 = (s1 + b + 31) & 0xffff;
    s2 = (s2 + s1) & 0xffff;
  }
  return ((s2 << 16) | s1) >>> 0;
}

/** A `sums` answer (PROTOCOL.md sections 3 and 8.1) for `req`, computed over `content`. */
export function sumsAnswer(req: WireMessage, content: Buffer): Record<string, unknown> {
  const blockSize = Number(req.blockSize);
  const first = Number(req.first);
  const group = Number(req.group);
  const blocks: Buffer[] = [];
  for (let i = first; i < first + Number(req.count) && i * blockSize < content.length; i++) blocks.push(content.subarray(i * blockSize, (i + 1) * blockSize));
  const strongOf = (b: Buffer) => createHash('sha256').update(b).digest().subarray(0, 16);
  let weak = Buffer.alloc(0);
  let strong: Buffer;
  if (group === 1) {
    weak = Buffer.alloc(4 * blocks.length);
    blocks.forEach((b, i) => weak.writeUInt32BE(weakSum(b), 4 * i));
    strong = Buffer.concat(blocks.map(strongOf));
  } else {
    const digests: Buffer[] = [];
    for (let g = 0; g < blocks.length; g += group) digests.push(strongOf(Buffer.concat(blocks.slice(g, g + group).map(strongOf))));
    strong = Buffer.concat(digests);
  }
  return { type: 'sums', id: req.id, fileSize: content.length, blockSize, first, group, weak, strong };
}
