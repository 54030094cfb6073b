/**
 * Files that change while they sync, and times that make no sense, between
 * two real daemons (THREATS 7.2 M1, M3, CL1): bytes on the receiver are
 * always a version the sender's file really had, an edit hidden behind a
 * reset mtime still syncs, and mtimes in 2100 or before 1970 sync once and
 * then stay quiet.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, ftruncateSync, lstatSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionVector } from '../../src/versions/vector.js';
import { cleanup, runCli, startDaemon, startPairedNodes, waitConnected, type TestNode } from '../support/daemon.js';
import { seededBytes } from '../support/random.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('changes'));
}, 60_000);

afterAll(async () => {
  await cleanup(base, [a, b]);
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bytes at `rel` in a node's folder, or undefined while there is no file. */
function read(node: TestNode, rel: string): Buffer | undefined {
  try {
    return readFileSync(path.join(node.folder, rel));
  } catch {
    return undefined;
  }
}

/** A node's own version of `rel`, as `wizard status --why` reports it. */
async function versionOf(node: TestNode, rel: string): Promise<VersionVector | undefined> {
  const res = await runCli(node.home, ['status', '--why', rel, '--json']);
  if (res.code !== 0) throw new Error(`status --why ${rel} on ${node.name}: ${res.stderr}`);
  return (JSON.parse(res.stdout) as { local: { version?: VersionVector } }).local.version;
}

/** Names in a node's trash that came from `rel`. */
function trashedCopies(node: TestNode, rel: string): string[] {
  const dir = path.join(node.folder, '.wizard', 'trash');
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.startsWith(`${rel}~`)) : [];
}

/**
 * A file from alpha to beta, then one from beta to alpha. Each node's own
 * changes reach the other in the order it recorded them, so once beta's file
 * is on alpha, every change beta had recorded before it has reached alpha too.
 */
async function roundTrip(tag: string): Promise<void> {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const rel = `round-trip-${tag}-${from.name}.txt`;
    writeFileSync(path.join(from.folder, rel), tag);
    await waitFor(`${rel} on ${to.name}`, () => read(to, rel)?.toString() === tag, 30_000);
  }
}

/** Restarts a node's daemon (its first scan then looks at every file again) and waits until it is linked and settled. */
async function restart(node: TestNode, other: TestNode): Promise<void> {
  await node.daemon?.stop();
  await startDaemon(node);
  await waitConnected(node, other, 30_000);
  await waitFor(`${node.name} to settle after its restart`, async () => (await node.daemon?.status())?.folders.every((f) => f.state === 'idle' && f.inSync), 30_000, 100);
}

describe('M1: a file written at about 1 kHz while it is hashed and sent', () => {
  it('M1: the receiver only ever holds bytes the sender’s file really had, and ends with the last content once writes stop', async () => {
    const rel = 'busy.bin';
    const file = path.join(a.folder, rel);
    let content = Buffer.from(seededBytes(192 * 1024, 1));
    writeFileSync(file, content);
    // Every version the file has had; a write adds its version before anyone could read it.
    const versions = new Set([sha(content)]);
    await waitFor('busy.bin on beta', () => read(b, rel)?.equals(content), 30_000);

    const foreign: string[] = [];
    /** Checks what beta holds now: it must be a version alpha's file really had. */
    const sample = (): Buffer | undefined => {
      const bytes = read(b, rel);
      if (bytes !== undefined && !versions.has(sha(bytes))) foreign.push(`${bytes.length} bytes, sha256 ${sha(bytes)}`);
      return bytes;
    };
    const sampler = setInterval(sample, 5);

    const fd = openSync(file, 'r+');
    let writes = 0;
    /** One burst of writes at about 1 kHz: in-place rewrites, appends and truncations in turn. */
    const burst = async (ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const kind = writes % 3;
        if (kind === 0) {
          // Rewritten in place: same size, new bytes at every 4 KiB.
          content = Buffer.from(content);
          for (let i = 0; i < content.length; i += 4096) content[i] = ((content[i] as number) + 1) & 0xff;
          writeSync(fd, content, 0, content.length, 0);
        } else if (kind === 1) {
          const more = Buffer.from(seededBytes(1500, writes));
          writeSync(fd, more, 0, more.length, content.length);
          content = Buffer.concat([content, more]);
        } else {
          content = content.subarray(0, content.length - 1000);
          ftruncateSync(fd, content.length);
        }
        versions.add(sha(content));
        writes++;
        await sleep(1);
      }
    };
    try {
      // Bursts with short pauses, so a version is hashed, offered or in flight when the next burst comes;
      // after every few, beta must catch up with the version then on disk, so the race is really run.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 4; i++) {
          await burst(20 + ((round * 4 + i) * 37) % 130);
          await sleep(40 + ((round * 4 + i) * 53) % 200);
        }
        const now = content;
        await waitFor(`beta to catch up with alpha after round ${round}`, () => sample()?.equals(now), 45_000);
      }
      await burst(300);
    } finally {
      closeSync(fd);
    }

    try {
      await waitFor('beta to hold the last content', () => sample()?.equals(content), 45_000);
    } finally {
      clearInterval(sampler);
    }
    expect(writes, 'writes made').toBeGreaterThan(100);
    expect(foreign).toEqual([]);
  }, 240_000);
});

describe('M3: an edit behind an mtime set back', () => {
  it('M3: an append followed by `touch -d` back to the old mtime still reaches the peer', async () => {
    const rel = 'log.txt';
    const file = path.join(a.folder, rel);
    writeFileSync(file, 'line 1\n');
    const old = new Date('2026-01-02T03:04:05.000Z');
    utimesSync(file, old, old);
    await waitFor('log.txt on beta', () => read(b, rel)?.toString() === 'line 1\n', 30_000);
    appendFileSync(file, 'line 2\n');
    utimesSync(file, old, old);
    expect(statSync(file).mtimeMs).toBe(old.getTime());
    await waitFor('the append to reach beta', () => read(b, rel)?.toString() === 'line 1\nline 2\n', 30_000);
  }, 60_000);
});

describe('CL1: mtimes in 2100 and before 1970', () => {
  it('CL1: sync once, keep their mtimes, and stay quiet: no new version on either side, even after the receiver rescans at a restart', async () => {
    const files = { 'future.txt': new Date('2100-06-01T12:00:00.250Z'), 'ancient.txt': new Date('1969-07-20T20:17:40.500Z') };
    for (const [rel, at] of Object.entries(files)) {
      writeFileSync(path.join(a.folder, rel), `stamped ${at.toISOString()}\n`);
      utimesSync(path.join(a.folder, rel), at, at);
    }
    for (const [rel, at] of Object.entries(files)) {
      await waitFor(`${rel} on beta`, () => read(b, rel)?.toString() === `stamped ${at.toISOString()}\n`, 30_000);
      expect(lstatSync(path.join(b.folder, rel)).mtimeMs).toBe(at.getTime());
    }
    const settled = async (): Promise<string> => {
      const out: Record<string, unknown> = {};
      for (const rel of Object.keys(files)) out[rel] = [await versionOf(a, rel), await versionOf(b, rel)];
      return JSON.stringify(out);
    };
    // Both sides at one version of each file.
    const first = await waitFor('both nodes to agree on the versions', async () => {
      const s = await settled();
      const parsed = JSON.parse(s) as Record<string, [unknown, unknown]>;
      return Object.values(parsed).every(([x, y]) => x !== undefined && JSON.stringify(x) === JSON.stringify(y)) ? s : undefined;
    });

    // Quiet: the versions do not move. A ping-pong starts with beta taking what it just wrote for an edit; a
    // file beta writes later reaches alpha after any such edit was announced, so once it has, the bump would show.
    await roundTrip('after-sync');
    expect(await settled()).toBe(first);
    // A restart scans every file again: an mtime the receiver could not set or record exactly would show as an
    // edit here, and come back to the sender as a new version.
    await restart(b, a);
    await roundTrip('after-restart');
    expect(await settled()).toBe(first);
    for (const [rel, at] of Object.entries(files)) {
      expect(lstatSync(path.join(a.folder, rel)).mtimeMs).toBe(at.getTime());
      expect(trashedCopies(a, rel)).toEqual([]);
      expect(trashedCopies(b, rel)).toEqual([]);
    }
  }, 120_000);
});
