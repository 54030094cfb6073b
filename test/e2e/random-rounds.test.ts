/**
 * Three real daemons in a mesh take random rounds of creates, overwrites,
 * deletes and renames on every node at once, with nodes stopped and
 * restarted between rounds (their changes made while down). After each
 * round they must converge, and no version may be lost: every content ever
 * written is in a tree, a conflict copy or a trash.
 *
 * The seed is printed on failure; replay with WIZARD_TEST_SEED=<seed>.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitAllInSync, waitConnected, type TestNode } from '../support/daemon.js';

const seed = Number(process.env.WIZARD_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.WIZARD_TEST_ROUNDS ?? 5);

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let base: string;
let nodes: TestNode[];

beforeAll(async () => {
  base = tempDir('rounds');
  const a = await initNode(base, 'alpha');
  const b = await initNode(base, 'beta', a);
  const c = await initNode(base, 'gamma', a);
  nodes = [a, b, c];
  await Promise.all(nodes.map((n) => startDaemon(n)));
  for (const [from, to] of [[b, a], [c, a], [c, b]] as const) {
    const res = await runCli(from.home, ['pair', `127.0.0.1:${to.port}`]);
    expect(res.code, res.stderr).toBe(0);
  }
  await Promise.all([waitConnected(a, b), waitConnected(a, c), waitConnected(b, c)]);
});

afterAll(async () => {
  await cleanup(base, nodes);
});

/** Every file's content under `dir`, recursively (trash and conflict copies included). */
function contents(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((p) => path.join(dir, p))
    .filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile() === true)
    .map((p) => readFileSync(p, 'utf8'));
}

it(`X8: converges and loses nothing over random rounds (seed ${seed})`, async () => {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const written: string[] = [];
  const events: string[] = [];
  // A version every node's user overwrote or deleted by hand is gone by their choice, not Wizard's.
  const discardedEverywhere = new Set<string>();
  let token = 0;
  const fresh = (who: string) => {
    const content = `#${++token} by ${who} ${randomBytes(Math.floor(random() * 2048)).toString('base64')}`;
    written.push(content);
    return content;
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Paths that every node agrees on now: safe to overwrite, delete or rename this round.
      const settled = readdirSync(nodes[0]!.folder, { recursive: true })
        .map(String)
        .filter((p) => !p.startsWith('.wizard') && statSync(path.join(nodes[0]!.folder, p)).isFile());
      const down = random() < 0.4 ? pick(nodes) : undefined;
      if (down) expect(await down.daemon?.stop()).toBe(0);
      events.push(`round ${round}${down ? ` (${down.name} down)` : ''}`);
      const touched = new Set<string>();
      const discardedBy = new Map<string, Set<string>>();
      const discard = (node: TestNode, rel: string) => discardedBy.set(rel, (discardedBy.get(rel) ?? new Set()).add(node.name));
      const before = new Map(settled.map((rel) => [rel, readFileSync(path.join(nodes[0]!.folder, rel), 'utf8')]));
      for (const node of nodes) {
        for (let k = 0; k < 4; k++) {
          const op = random();
          const target = pick(settled.length > 0 ? settled : ['seed.txt']);
          if (op < 0.35 || settled.length === 0) {
            const dir = pick(['', 'docs', 'docs/deep']);
            const name = `${dir === '' ? '' : `${dir}/`}f${round}-${node.name}-${k}.txt`;
            mkdirSync(path.join(node.folder, dir), { recursive: true });
            writeFileSync(path.join(node.folder, name), fresh(node.name));
            events.push(`  ${node.name} creates ${name} = #${token}`);
          } else if (touched.has(`${node.name}:${target}`) || !existsSync(path.join(node.folder, target))) {
            continue;
          } else if (op < 0.7) {
            // Concurrent overwrites of one path from several nodes are the conflicts this test is after.
            writeFileSync(path.join(node.folder, target), fresh(node.name));
            discard(node, target);
            events.push(`  ${node.name} overwrites ${target} = #${token}`);
          } else if (op < 0.85) {
            rmSync(path.join(node.folder, target));
            discard(node, target);
            events.push(`  ${node.name} deletes ${target}`);
          } else if (op < 0.93) {
            renameSync(path.join(node.folder, target), path.join(node.folder, `${target}.r${round}`));
            events.push(`  ${node.name} renames ${target} -> ${target}.r${round}`);
          } else {
            // A case-only rename: its own name on this (case-sensitive) filesystem, a clash to report on others.
            const renamed = path.posix.join(path.posix.dirname(target), path.posix.basename(target).toUpperCase());
            if (renamed === target || existsSync(path.join(node.folder, renamed))) continue;
            renameSync(path.join(node.folder, target), path.join(node.folder, renamed));
            events.push(`  ${node.name} renames ${target} -> ${renamed}`);
          }
          touched.add(`${node.name}:${target}`);
        }
      }
      for (const [rel, who] of discardedBy) if (who.size === nodes.length) discardedEverywhere.add(before.get(rel) ?? '');
      if (down) {
        await startDaemon(down);
        for (const other of nodes) if (other !== down) await waitConnected(down, other);
      }
      // All three at one moment, by their own account and on disk: a pairwise check can pass while a third node disagrees.
      await waitAllInSync(nodes, 90_000);
    }
    const kept = new Set(nodes.flatMap((n) => contents(n.folder)));
    const lost = written.filter((c) => !kept.has(c) && !discardedEverywhere.has(c));
    expect(lost.map((c) => c.slice(0, 24))).toEqual([]);
  } catch (err) {
    throw new Error(`random rounds failed with seed ${seed} (replay: WIZARD_TEST_SEED=${seed}): ${String(err)}\n${events.join('\n')}`);
  }
}, Math.max(300_000, ROUNDS * 90_000));
