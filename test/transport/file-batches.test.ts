/**
 * Small files asked for at once go in one files-request (transport/file-batches.ts),
 * between two real sessions over a stream pair: the batch and its answer, a
 * lone file as a plain request, a file's failure kept to itself, and an
 * answer that does not answer what was asked (another path at a place,
 * another count) closing the link as a protocol error.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { PROTOCOL_VERSION, type FileAnswer, type FilesRequestMessage, type Hello } from '../../src/protocol/messages.js';
import { BATCH_FILES } from '../../src/transport/file-batches.js';
import { PeerSession, type SessionHandler } from '../../src/transport/session.js';
import { duplexPair } from '../support/streams.js';

const log = pino({ level: 'silent' });
const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);
const HASH = 'c'.repeat(64);

const hello = (id: string): Hello => ({ type: 'hello', protocol: PROTOCOL_VERSION, id, name: id.slice(0, 4), listenPort: 0, intent: 'sync', folders: [] });

/** A requester `a` and a responder `b` whose files-requests `answer` answers; what b was asked is recorded. */
async function linked(answer: (msg: FilesRequestMessage) => FileAnswer[]) {
  const [x, y] = duplexPair();
  const a = new PeerSession({ socket: x, clock: systemClock, log }, ID_B, 'out');
  const b = new PeerSession({ socket: y, clock: systemClock, log }, ID_A, 'in');
  await Promise.all([a.handshake(hello(ID_A)), b.handshake(hello(ID_B))]);
  const asked = { requests: [] as string[], batches: [] as FilesRequestMessage[] };
  const responder: SessionHandler = {
    onIndex: () => undefined,
    onRequest: (m) => (asked.requests.push(m.path), Promise.resolve(Buffer.from(`one:${m.path}`))),
    onFilesRequest: (m) => (asked.batches.push(m), Promise.resolve(answer(m))),
    onSumsRequest: () => Promise.reject(new Error('no sums')),
    onClose: () => undefined,
  };
  b.attach(responder);
  a.attach({ ...responder, onClose: () => undefined });
  return { a, b, asked };
}

const honest = (m: FilesRequestMessage): FileAnswer[] => m.files.map((f) => ({ path: f.path, data: Buffer.from(`bytes of ${f.path}`.slice(0, f.length)) }));
const ask = (a: PeerSession, rel: string, length = 64) => a.request({ folder: 'f', path: rel, hash: HASH, offset: 0, length });

describe('small files in one files-request', () => {
  it('asks for small files wanted at once in one message, each answered with its own bytes', async () => {
    const { a, asked } = await linked(honest);
    const got = await Promise.all(['x/1', 'x/2', 'x/3', 'y/4'].map((p) => ask(a, p)));
    expect(got.map(String)).toEqual(['bytes of x/1', 'bytes of x/2', 'bytes of x/3', 'bytes of y/4']);
    expect(asked.batches.map((m) => m.files.map((f) => f.path))).toEqual([['x/1', 'x/2', 'x/3', 'y/4']]);
    expect(asked.requests).toEqual([]);
    a.close('done');
  });

  it('sends a lone small file, and any block past a file\'s start, as a plain request', async () => {
    const { a, asked } = await linked(honest);
    expect(String(await ask(a, 'lone'))).toBe('one:lone');
    expect(String(await a.request({ folder: 'f', path: 'big', hash: HASH, offset: 65536, length: 10 }))).toBe('one:big');
    expect(asked.batches).toEqual([]);
    a.close('done');
  });

  it('splits a burst into requests of BATCH_FILES files, and keeps each folder to its own', async () => {
    const { a, asked } = await linked(honest);
    const paths = Array.from({ length: 70 }, (_, i) => `p${i}`);
    await Promise.all([...paths.map((p) => ask(a, p)), a.request({ folder: 'g', path: 'other', hash: HASH, offset: 0, length: 5 }), a.request({ folder: 'g', path: 'other2', hash: HASH, offset: 0, length: 5 })]);
    expect(asked.batches.map((m) => [m.folder, m.files.length])).toEqual([...Array.from({ length: 4 }, () => ['f', BATCH_FILES]), ['f', 70 - 4 * BATCH_FILES], ['g', 2]]);
    a.close('done');
  });

  it('fails only the file the responder could not serve, with its reason', async () => {
    const { a } = await linked((m) => m.files.map((f) => (f.path === 'gone' ? { path: f.path, code: 'changed', message: 'we no longer have that version' } : { path: f.path, data: Buffer.from('ok') })));
    const [kept, gone] = await Promise.allSettled([ask(a, 'kept'), ask(a, 'gone')]);
    expect(kept).toEqual({ status: 'fulfilled', value: Buffer.from('ok') });
    expect(gone).toMatchObject({ status: 'rejected', reason: { code: 'CHANGED' } });
    expect(String((gone as PromiseRejectedResult).reason)).toContain('we no longer have that version');
    a.close('done');
  });

  it('hostile: an answer naming a path that was not asked for closes the link, and no asker gets its bytes', async () => {
    const { a } = await linked((m) => m.files.map((f, i) => ({ path: i === 1 ? 'secret/elsewhere' : f.path, data: Buffer.from('forged') })));
    const results = await Promise.allSettled([ask(a, 'one'), ask(a, 'two'), ask(a, 'three')]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await a.closed).toBe('protocol error: files answer names a path that was not asked for at place 1');
  });

  it('hostile: an answer with fewer files than asked closes the link', async () => {
    const { a } = await linked((m) => honest(m).slice(1));
    const results = await Promise.allSettled([ask(a, 'one'), ask(a, 'two')]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await a.closed).toBe('protocol error: files answer has 1 files for 2 asked');
  });

  it('hostile: more bytes for a file than asked fail that file as a mismatch, before any hash is taken', async () => {
    const { a } = await linked((m) => m.files.map((f) => ({ path: f.path, data: Buffer.alloc(f.path === 'long' ? f.length + 1 : f.length, 1) })));
    const [fine, long] = await Promise.allSettled([ask(a, 'fine', 8), ask(a, 'long', 8)]);
    expect(fine).toEqual({ status: 'fulfilled', value: Buffer.alloc(8, 1) });
    expect(long).toMatchObject({ status: 'rejected', reason: { code: 'HASH_MISMATCH' } });
    expect(a.isClosed).toBe(false);
    a.close('done');
  });
});
