/**
 * A hostile peer for end-to-end tests: a node whose certificate our CA
 * signed and that the daemon has paired with, but that sends whatever the
 * test tells it to, frames and all.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { loadNodeCredentials } from '../../src/certs/store.js';
import { systemClock } from '../../src/core/clock.js';
import type { FileEntry } from '../../src/index/entry.js';
import { PROTOCOL_VERSION, type Hello, type IndexMessage } from '../../src/protocol/messages.js';
import { dial } from '../../src/transport/tls.js';
import { PeerSession } from '../../src/transport/session.js';
import type { TestNode } from './daemon.js';

/** An open, handshaken connection from the hostile node to a daemon. */
export interface HostileLink {
  readonly session: PeerSession;
  readonly socket: TLSSocket;
  /** Content the hostile node serves, by hash. */
  readonly serves: Map<string, Buffer>;
  /** The target's Hello. */
  readonly hello: Hello;
  /** Index messages the target sent, in order. */
  readonly indexes: IndexMessage[];
}

/** What the hostile node claims in its Hello beyond the defaults. */
export interface HostileHelloOptions {
  /** What it claims to hold of the target's index (default: nothing). */
  readonly have?: { readonly indexId: string; readonly sequence: number };
}

/** A version vector key for the hostile node. */
export function hostileKey(hostile: TestNode): string {
  return hostile.id.slice(0, 16);
}

/** Connects as `hostile` to `target`'s daemon and completes the Hello exchange for `folder`. */
export async function connectHostile(hostile: TestNode, target: TestNode, folder: string, opts: HostileHelloOptions = {}): Promise<HostileLink> {
  const credentials = loadNodeCredentials(path.join(hostile.home, 'certs'));
  const { socket } = await dial({ host: '127.0.0.1', port: target.port, credentials, expectedId: target.id });
  const session = new PeerSession({ socket, clock: systemClock, log: pino({ level: 'silent' }) }, target.id, 'out');
  const hello: Hello = {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    id: hostile.id,
    name: hostile.name,
    listenPort: 0,
    intent: 'sync',
    folders: [{ id: folder, indexId: randomBytes(8).toString('hex'), maxSequence: 1_000_000, digest: 'f'.repeat(32), have: opts.have ?? { indexId: '', sequence: 0 } }],
  };
  const theirs = await session.handshake(hello);
  const serves = new Map<string, Buffer>();
  const indexes: IndexMessage[] = [];
  session.attach({
    onIndex: (msg) => indexes.push(msg),
    onRequest: (req) => {
      const data = serves.get(req.hash);
      return data === undefined ? Promise.reject(new Error('not here')) : Promise.resolve(data.subarray(req.offset, req.offset + req.length));
    },
    onSumsRequest: () => Promise.reject(new Error('no block sums here')),
    onClose: () => undefined,
  });
  return { session, socket, serves, hello: theirs, indexes };
}

let sequence = 1;

/** A file entry for `content`, which `link` will serve. */
export function fileEntry(link: HostileLink, hostile: TestNode, rel: string, content: string): FileEntry {
  const data = Buffer.from(content);
  const hash = createHash('sha256').update(data).digest('hex');
  link.serves.set(hash, data);
  return { path: rel, type: 'file', size: data.length, mtimeMs: Date.now(), mode: 0o644, hash, target: '', version: { [hostileKey(hostile)]: sequence }, deleted: false, sequence: sequence++ };
}

/** A symlink entry. */
export function linkEntry(hostile: TestNode, rel: string, target: string): FileEntry {
  return { path: rel, type: 'symlink', size: 0, mtimeMs: Date.now(), mode: 0o777, hash: '', target, version: { [hostileKey(hostile)]: sequence }, deleted: false, sequence: sequence++ };
}
