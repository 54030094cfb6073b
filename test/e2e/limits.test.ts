/**
 * Scheduling, limits and compression between two real daemons: the transfer
 * limit holds under a burst, a small file overtakes a large transfer, the
 * upload limit holds, and compression pays off on a slow link while random
 * data is never inflated. Every limit is changed by editing the config file
 * of the running daemon, as a user would.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_RUN } from '../support/long.js';
import type { StatusSnapshot } from '../../src/status/snapshot.js';
import { cleanup, startPairedNodes, waitSameTree, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let b: TestNode;

const configFile = (n: TestNode) => path.join(n.home, 'config.yaml');

/** Sets limits and compression in `n`'s config file and waits until its daemon applies them. */
async function configure(n: TestNode, opts: { transfers?: number; up?: number; compression?: string }): Promise<void> {
  let text = readFileSync(configFile(n), 'utf8');
  if (opts.transfers !== undefined) text = text.replace(/^(\s+transfers:) \d+/m, `$1 ${opts.transfers}`);
  if (opts.up !== undefined) text = text.replace(/^(\s+up:) \d+/m, `$1 ${opts.up}`);
  if (opts.compression !== undefined) text = text.replace(/^compression: \w+/m, `compression: ${opts.compression}`);
  writeFileSync(configFile(n), text);
  await waitFor(`${n.name} to apply ${JSON.stringify(opts)}`, async () => {
    const s = (await status(n)).settings;
    return (
      (opts.transfers === undefined || s.limits.transfers === opts.transfers) &&
      (opts.up === undefined || s.limits.bandwidthUp === opts.up) &&
      (opts.compression === undefined || s.compression === opts.compression)
    );
  });
}

async function status(n: TestNode): Promise<StatusSnapshot> {
  const s = await n.daemon?.status();
  if (s === undefined) throw new Error(`${n.name} is not running`);
  return s;
}

/** Bytes A has sent to B so far. */
async function sentToB(): Promise<number> {
  return (await status(a)).peers.find((p) => p.id === b.id)?.bytesSent ?? 0;
}

/** Waits until `rel` on B holds `content`; returns the milliseconds since `since`. */
async function arrival(rel: string, content: Buffer, since: number, timeoutMs = 30_000): Promise<number> {
  const file = path.join(b.folder, rel);
  await waitFor(`${rel} on beta`, () => existsSync(file) && statSync(file).size === content.length && readFileSync(file).equals(content), timeoutMs, 20);
  return Date.now() - since;
}

/** Text that compresses well but not trivially, like a log file: `bytes` long, different for each `seed`. */
function logText(bytes: number, seed: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `2026-11-28T03:${String(i % 60).padStart(2, '0')}:00.${i % 1000}Z INFO seed=${seed} request ${i * 7919 % 100_003} served /api/items/${(i * seed) % 977} in ${i % 250} ms\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('limits'));
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

describe('limits and scheduling', () => {
  it('never runs more downloads at once than `transfers`, under a burst of files', async () => {
    // First, so the peak counts only this burst: B has downloaded nothing yet.
    await configure(b, { transfers: 2 });
    mkdirSync(path.join(a.folder, 'burst'));
    for (let i = 0; i < 300; i++) writeFileSync(path.join(a.folder, 'burst', `f${i}.bin`), randomBytes(2048 + i));
    await waitSameTree(a, b, 60_000);
    const slots = (await status(b)).transferSlots;
    expect(slots.peak).toBe(2);
    expect(slots).toMatchObject({ running: 0, files: 0, waiting: 0 });
  });

  it('delivers a small file while a large transfer is still running', async () => {
    // 48 MiB at 8 MiB/s: the big file takes about six seconds.
    await configure(a, { up: 8 * 1024 * 1024 });
    const big = randomBytes(48 * 1024 * 1024);
    writeFileSync(path.join(a.folder, 'big.bin'), big);
    await waitFor('big.bin downloading on beta', async () => (await status(b)).transfers.some((t) => t.path === 'big.bin' && t.bytesDone > 0));
    const small = randomBytes(4096);
    const t0 = Date.now();
    writeFileSync(path.join(a.folder, 'small.txt'), small);
    await arrival('small.txt', small, t0, 30_000);
    // It overtook: the big file is still on its way (how soon it came is a loaded machine's to set).
    expect((await status(b)).transfers.map((t) => t.path)).toContain('big.bin');
    await arrival('big.bin', big, t0, 60_000);
  });

  it.runIf(LONG_RUN)('holds the upload to `bandwidth.up` within 10% over several seconds', async () => {
    const cap = 2 * 1024 * 1024;
    await configure(a, { up: cap, compression: 'none' });
    const data = randomBytes(20 * 1024 * 1024);
    const t0 = Date.now();
    writeFileSync(path.join(a.folder, 'capped.bin'), data);
    await waitFor('capped.bin downloading on beta', async () => (await status(b)).transfers.some((t) => t.path === 'capped.bin' && t.bytesDone > 0));
    const started = Date.now();
    // The daemon's own send rate (its last three seconds): read once the window holds only this transfer.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await status(a);
      if (s.transfers.length === 0 && (await status(b)).transfers.length === 0) break;
      rates.push(s.peers.find((p) => p.id === b.id)?.sendBytesPerSecond ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(rates.length).toBeGreaterThan(0);
    for (const rate of rates) {
      expect(rate).toBeGreaterThan(cap * 0.9);
      expect(rate).toBeLessThan(cap * 1.1);
    }
    await arrival('capped.bin', data, t0, 60_000);
    // And over the whole transfer: no faster than the cap allows.
    expect(Date.now() - started).toBeGreaterThan(((data.length / cap) * 1000 - 1000) * 0.9);
  });

  // What compressing saves in time on a slow link is the bench's to measure (COMPRESS: auto ÷ none, docs/BENCHMARKS.md),
  // not a test's: a timed case here failed once the requests grew to 1 MiB, with a 6 MiB file of six frames.
  it('compresses compressible data under `auto` on a slow link: less than half its bytes on the wire', async () => {
    const size = 6 * 1024 * 1024;
    await configure(a, { up: 1024 * 1024, compression: 'auto' });
    const packed = logText(size, 2);
    const sentBefore = await sentToB();
    const t0 = Date.now();
    writeFileSync(path.join(a.folder, 'log-auto.txt'), packed);
    await arrival('log-auto.txt', packed, t0, 60_000);
    expect((await sentToB()) - sentBefore).toBeLessThan(size / 2);
  });

  it('sends random data raw under `auto`: never more bytes than the data', async () => {
    await configure(a, { up: 0, compression: 'auto' });
    const data = randomBytes(16 * 1024 * 1024);
    const before = await sentToB();
    const t0 = Date.now();
    writeFileSync(path.join(a.folder, 'random.bin'), data);
    await arrival('random.bin', data, t0, 60_000);
    // Requests' answers carry the data plus framing; anything compressed-but-bigger would show here.
    expect((await sentToB()) - before).toBeLessThan(data.length * 1.01);
  });
});
