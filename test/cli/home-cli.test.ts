/**
 * A home that is a file (issue 15, item 13), through the real CLI: every
 * command that creates or reads a home says so in one plain line and exits 2
 * (a usage error), instead of an errno line with its code twice.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/daemon.js';

let base: string;
let file: string;

beforeAll(() => {
  base = tempDir('home-cli');
  file = path.join(base, 'not-a-dir');
  writeFileSync(file, 'x');
  mkdirSync(path.join(base, 'folder'));
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('a home that is a file', () => {
  const commands: Array<{ what: string; home: () => string; args: () => string[]; names: () => string }> = [
    { what: 'start', home: () => file, args: () => ['start'], names: () => `the Wizard home ${file} is a file` },
    { what: 'init', home: () => file, args: () => ['init', '--listen', '127.0.0.1:0', '--folder', `s=${path.join(base, 'folder')}`], names: () => `the Wizard home ${file} is a file` },
    { what: 'start with the home below that file', home: () => path.join(file, 'home'), args: () => ['start'], names: () => `lies below ${file}, which is a file` },
    { what: 'status', home: () => file, args: () => ['status'], names: () => `the Wizard home ${file} is a file` },
    { what: 'folder add', home: () => file, args: () => ['folder', 'add', 'x', path.join(base, 'folder')], names: () => `the Wizard home ${file} is a file` },
  ];

  it.concurrent.each(commands)('$what: one plain line saying what is wrong and what to do, exit code 2', async ({ home, args, names }) => {
    const res = await runCli(home(), args());
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(names());
    expect(lines[0]).toContain('not a directory; pass --home');
    expect(res.stderr).not.toMatch(/E[A-Z]+: E[A-Z]+:|\n\s+at /);
  });
});
