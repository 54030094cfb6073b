/**
 * The ignore rules as a walk applies them: each dir is asked about once and
 * the answer is passed down to its children (isChildIgnored), instead of
 * asking about every ancestor of every path. What a walk keeps must be
 * exactly the paths a full check of each path (isIgnored) keeps, for every
 * kind of pattern: negation, anchored, dir-only, `**`, nested files' rules.
 */
import type { Dirent } from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileIgnore, type IgnoreSource } from '../../src/ignore/matcher.js';
import { walk } from '../../src/index/scanner.js';

const sources: IgnoreSource[] = [
  // Master list and root file: name patterns, dir-only, negation, anchored, `**` at the start, middle and end.
  { text: '*.log\n!keep.log\nbuild/\n/top.txt\ndocs/*.pdf\n**/cache\nsrc/**/gen.ts\nvendor/**\n!vendor/kept.txt\nout/*\n!out/shown/\n', base: '' },
  // A nested file: its own anchored, dir-only and negated patterns.
  { text: '/local.txt\ntmp/\n!debug.log\n', base: 'src' },
];

const files = [
  'a.txt', 'top.txt', 'x/top.txt', 'x/a.log', 'x/keep.log', 'docs/a.pdf', 'docs/x/a.pdf', 'x/docs/a.pdf',
  'build/a.txt', 'x/build/deep/a.txt', 'build.txt', 'cache/a.txt', 'x/y/cache/a.txt', 'x/cache.txt',
  'src/gen.ts', 'src/a/b/gen.ts', 'src/a/gen.txt', 'vendor/a.txt', 'vendor/kept.txt', 'vendor/d/kept.txt',
  'out/a.txt', 'out/shown/a.txt', 'out/hidden/a.txt', 'src/local.txt', 'src/a/local.txt', 'local.txt',
  'src/tmp/a.txt', 'src/a/tmp/b.txt', 'tmp/a.txt', 'src/debug.log', 'src/a/debug.log', 'src/other.log',
  // A file named like a dir-only pattern, and a dir named like a file pattern.
  'z/build', 'y.log/inside.txt',
];

let root: string;
/** Every path on disk with whether it is a dir. */
const onDisk = new Map<string, boolean>();
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-walk-ignore-'));
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) onDisk.set(parts.slice(0, i).join('/'), true);
    onDisk.set(f, false);
    mkdirSync(path.join(root, ...parts.slice(0, -1)), { recursive: true });
    writeFileSync(path.join(root, ...parts), f);
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Listings as a file system without types in them gives them (DT_UNKNOWN): no entry says it is a dir. */
async function untyped(abs: string): Promise<Dirent[]> {
  const listed = await readdir(abs, { withFileTypes: true });
  return listed.map((d) => ({ name: d.name, isDirectory: () => false, isFile: () => false, isSymbolicLink: () => false }) as unknown as Dirent);
}

describe('a walk asks each dir once and passes the answer down', () => {
  const matcher = compileIgnore(sources);
  let expected: string[] = [];
  beforeAll(() => {
    expected = [...onDisk].filter(([p, isDir]) => !matcher.isIgnored(p, isDir)).map(([p]) => p).sort();
  });

  it('keeps exactly what a full check of each path keeps, for negation, anchored, dir-only and ** patterns and a nested file', async () => {
    const got = await walk(root, '', { matcher, isInternal: () => false });
    expect([...got.seen.keys()].sort()).toEqual(expected);
    // The tree has both kinds in numbers, so neither answer is everywhere.
    expect(expected.length).toBeGreaterThan(15);
    expect(onDisk.size - expected.length).toBeGreaterThan(15);
  });

  it('keeps the same when the listings do not say which names are dirs (each dir is asked again as one once it is looked at)', async () => {
    const got = await walk(root, '', { matcher, isInternal: () => false, readDir: untyped });
    expect([...got.seen.keys()].sort()).toEqual(expected);
  });

  it('walking a subtree keeps the same as the whole walk does below it', async () => {
    for (const sub of ['src', 'x', 'out', 'vendor']) {
      const got = await walk(root, sub, { matcher, isInternal: () => false });
      expect([...got.seen.keys()].sort()).toEqual(expected.filter((p) => p === sub || p.startsWith(`${sub}/`)));
    }
  });

  it('isChildIgnored answers as isIgnored for every path whose parent is not ignored', () => {
    let asked = 0;
    for (const [p, isDir] of onDisk) {
      const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
      if (parent !== '' && matcher.isIgnored(parent, true)) continue;
      expect(matcher.isChildIgnored(p, isDir), p).toBe(matcher.isIgnored(p, isDir));
      asked++;
    }
    expect(asked).toBeGreaterThan(30);
    for (const p of ['.wizard', 'a/.~wizard-1.tmp', '.~wizard-2.tmp']) expect(matcher.isChildIgnored(p, false), p).toBe(true);
    expect(matcher.isChildIgnored('a/.wizard', true)).toBe(false);
  });
});
