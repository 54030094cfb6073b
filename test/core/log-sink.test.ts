/**
 * LogSink: stdout until it fails, then the home's log file (issue 15, item 9).
 * The failing stdout is a Writable with an injected EPIPE; the file is real.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LogSink, type LogSinkStatus } from '../../src/core/log-sink.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-log-sink-'));
  dirs.push(dir);
  return path.join(dir, 'daemon.log');
}

/** A stdout that takes `ok` writes, then fails every write with EPIPE, as a pipe whose reader left does. */
function stdoutThatCloses(ok: number): { stream: Writable; got: string[] } {
  const got: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (got.length < ok) {
        got.push(chunk.toString());
        done();
      } else done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  return { stream, got };
}

const line = (n: number) => `${JSON.stringify({ level: 30, msg: `line ${n}` })}\n`;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('LogSink', () => {
  it('keeps the failed line and every later one in the file, and tells of the switch once', async () => {
    const file = tempFile();
    const { stream, got } = stdoutThatCloses(2);
    const switches: LogSinkStatus[] = [];
    const sink = new LogSink({ primary: stream, file, now: () => 1_000, onSwitch: (s) => switches.push(s) });
    expect(sink.status()).toBeUndefined();
    for (let n = 1; n <= 5; n++) sink.write(line(n));
    await settle();
    sink.write(line(6));
    sink.close();
    expect(got).toEqual([line(1), line(2)]);
    expect(readFileSync(file, 'utf8')).toBe([3, 4, 5, 6].map(line).join(''));
    expect(switches).toEqual([{ destination: 'file', file, stdoutError: 'write EPIPE', stdoutFailedAtMs: 1_000, dropped: 0 }]);
    expect(sink.status()).toEqual(switches[0]);
  });

  it('shows stdout the formatted line and keeps JSON in the file', async () => {
    const file = tempFile();
    const { stream, got } = stdoutThatCloses(1);
    const sink = new LogSink({ primary: stream, file, format: (l) => `pretty ${(JSON.parse(l) as { msg: string }).msg}`, now: () => 0 });
    sink.write(line(1));
    sink.write(line(2));
    await settle();
    sink.close();
    expect(got).toEqual(['pretty line 1\n']);
    expect(readFileSync(file, 'utf8')).toBe(line(2));
  });

  it('counts a line the file cannot take either, and writes again once it can', async () => {
    const dir = path.join(path.dirname(tempFile()), 'not-yet');
    const file = path.join(dir, 'daemon.log');
    const { stream } = stdoutThatCloses(0);
    const sink = new LogSink({ primary: stream, file, now: () => 0 });
    sink.write(line(1));
    await settle();
    sink.write(line(2));
    expect(sink.status()).toMatchObject({ destination: 'file', dropped: 2 });
    mkdirSync(dir);
    sink.write(line(3));
    sink.close();
    expect(readFileSync(file, 'utf8')).toBe(line(3));
    expect(sink.status()?.dropped).toBe(2);
  });

  it('rotates the file to FILE.1 past its size limit', async () => {
    const file = tempFile();
    const { stream } = stdoutThatCloses(0);
    const sink = new LogSink({ primary: stream, file, now: () => 0 }, line(1).length * 2);
    for (let n = 1; n <= 3; n++) sink.write(line(n));
    await settle();
    sink.write(line(4));
    sink.close();
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(readFileSync(`${file}.1`, 'utf8')).toBe(line(1) + line(2));
    expect(readFileSync(file, 'utf8')).toBe(line(3) + line(4));
  });

  it("takes the stream's 'error' event, which would otherwise be an uncaught exception", () => {
    const file = tempFile();
    const stream = new Writable({ write: (_c, _e, done) => done() });
    const sink = new LogSink({ primary: stream, file, now: () => 0 });
    stream.emit('error', Object.assign(new Error('read EIO'), { code: 'EIO' }));
    sink.write(line(1));
    sink.close();
    expect(readFileSync(file, 'utf8')).toBe(line(1));
  });
});
