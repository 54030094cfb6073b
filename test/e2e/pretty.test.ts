/**
 * `wizard start --pretty`: readable log lines on a terminal (a real
 * pseudo-terminal through util-linux `script`), JSON lines in a pipe.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, initNode, tempDir, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/wizard.js');

let base: string;
let node: TestNode;

beforeAll(async () => {
  base = tempDir('pretty');
  node = await initNode(base, 'solo');
});

afterAll(async () => {
  await cleanup(base, [node]);
});

/** Runs `start --pretty` (through `wrap`), waits for the listening line, stops it; returns its stdout. */
async function startPretty(wrap: (cmd: string[]) => string[]): Promise<string> {
  const argv = wrap([process.execPath, bin, '--home', node.home, 'start', '--pretty']);
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await waitFor('the listening log line', () => out.includes('listening'), 15_000);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  return out;
}

it('prints readable log lines on a terminal', async () => {
  const out = await startPretty((cmd) => ['script', '-q', '-e', '-c', cmd.map((c) => `'${c}'`).join(' '), '/dev/null']);
  const esc = '\u001b';
  expect(out).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${esc}\\[32mINFO ${esc}\\[0m listening listen=127\\.0\\.0\\.1:\\d+`));
  expect(out).not.toContain('{"level"');
});

it('keeps JSON lines when stdout is a pipe', async () => {
  const out = await startPretty((cmd) => cmd);
  const line = out.split('\n').find((l) => l.includes('listening')) ?? '';
  expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'listening' });
});
