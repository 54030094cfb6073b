/**
 * `wizard init --folder` and `wizard folder add` through the real CLI, as a
 * user types them (issue 20, item 3): '~' is the home in both, a relative
 * path starts at the working dir, and an ID that exists is not moved unless
 * --force says so.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, tempDir } from '../support/daemon.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/wizard.js');

let base: string;
let userHome: string;
let wizardHome: string;
let cwd: string;

/** Runs the CLI as a user whose home is `userHome`, from `cwd`. */
function wizard(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, '--home', wizardHome, ...args], { cwd, env: { ...process.env, HOME: userHome }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const config = () => readFileSync(path.join(wizardHome, 'config.yaml'), 'utf8');

beforeAll(() => {
  base = tempDir('folder-cli');
  userHome = path.join(base, 'user');
  wizardHome = path.join(base, 'wizard-home');
  cwd = path.join(base, 'work');
  mkdirSync(userHome);
  mkdirSync(cwd);
});

afterAll(async () => {
  await cleanup(base, []);
});

it("init reads '~/...' as the home and a relative path from the working dir", async () => {
  const res = await wizard(['init', '--name', 'n', '--listen', '127.0.0.1:0', '--folder', 'pics=~/Pictures', '--folder', 'here=rel/dir']);
  expect(res.code, res.stderr).toBe(0);
  expect(config()).toContain('path: ~/Pictures');
  expect(config()).toContain(`path: ${path.join(cwd, 'rel', 'dir')}`);
});

it("folder add reads a quoted '~/...' as the home, not as a dir named '~' in the working dir", async () => {
  const res = await wizard(['folder', 'add', 'photos', '~/Photos', '--json']);
  expect(res.code, res.stderr).toBe(0);
  expect(JSON.parse(res.stdout)).toEqual({ id: 'photos', path: path.join(userHome, 'Photos'), shareWith: [], daemonNotified: false });
  expect(config()).toContain('path: ~/Photos');
  expect(config()).not.toContain(path.join(cwd, '~'));
});

it('folder add refuses an ID that exists, in one line, and leaves the config as it was; --force moves it', async () => {
  const before = config();
  const res = await wizard(['folder', 'add', 'photos', 'elsewhere']);
  expect(res.code).toBe(2);
  expect(res.stderr).toBe(`wizard: folder 'photos' already exists (at ~/Photos); pass --force to sync it at ${path.join(cwd, 'elsewhere')} instead\n`);
  expect(config()).toBe(before);
  const forced = await wizard(['folder', 'add', 'photos', 'elsewhere', '--force']);
  expect(forced.code, forced.stderr).toBe(0);
  expect(forced.stdout).toBe(`Folder 'photos' is ${path.join(cwd, 'elsewhere')}. It applies at the next 'wizard start'.\nIt is shared with nobody yet: share it with 'wizard folder share photos PEER'.\n`);
  expect(config()).toContain(`path: ${path.join(cwd, 'elsewhere')}`);
});

it("refuses '~user/...', which the config cannot spell", async () => {
  const res = await wizard(['folder', 'add', 'other', '~bob/x']);
  expect(res.code).toBe(2);
  expect(res.stderr).toBe("wizard: cannot use '~bob/x' as a folder path: give the full path, or '~/...' for your own home\n");
});
