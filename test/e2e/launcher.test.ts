/**
 * `wizard start` without the memory settings a process gets only at its start (issue 17):
 * bin/wizard.js runs the daemon as its child with them, passes its stop signals on, ends as the
 * daemon did, and the daemon never outlives it. Run as a program (npm's link, the shell lines at its
 * top), it is one process with the settings. Real processes, started as a person or the bench does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configPath } from '../../src/config/file.js';
import { cleanup, initNode, tempDir, type TestNode } from '../support/daemon.js';
import { controlStatus } from '../support/control-probe.js';
import { waitFor } from '../support/wait.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/wizard.js');

/** This environment without any of the settings (or the launcher's own mark), as a shell without them has it. */
function bareEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['MALLOC_ARENA_MAX', 'GLIBC_TUNABLES', 'NODE_OPTIONS', 'WIZARD_RELAUNCHED']) delete env[name];
  return env;
}

interface Launched {
  readonly launcher: ChildProcess;
  readonly daemonPid: number;
  readonly out: () => string;
  readonly err: () => string;
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `wizard start` as a person types it; resolves once the daemon answers status. */
async function launch(node: TestNode): Promise<Launched> {
  const launcher = spawn(process.execPath, [bin, '--home', node.home, 'start'], { stdio: ['ignore', 'pipe', 'pipe'], env: bareEnv() });
  let out = '';
  let err = '';
  launcher.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  launcher.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => launcher.on('exit', (code, signal) => resolve({ code, signal })));
  await waitFor('the daemon to answer status', async () => (await controlStatus(node.home, 2_000)).listen !== '', 20_000, 50).catch((e: unknown) => {
    throw new Error(`${String(e)}\n--- output ---\n${out}${err}`);
  });
  // Its last line before it waits for a stop: from here on it handles SIGINT and SIGTERM (installed in the same tick).
  await waitFor('the daemon to say it runs', () => err.includes('To add a machine'), 10_000, 25);
  const [daemonPid] = childrenOf(launcher.pid as number);
  if (daemonPid === undefined) throw new Error('wizard start runs no child: the daemon did not get its settings from a second start');
  return { launcher, daemonPid, out: () => out, err: () => err, ended };
}

let base: string;
let node: TestNode;
let broken: TestNode;

beforeAll(async () => {
  base = tempDir('launcher');
  node = await initNode(base, 'solo');
  broken = await initNode(base, 'broken');
  writeFileSync(configPath(broken.home), 'node: [unclosed\n');
});

afterAll(async () => {
  await cleanup(base, [node, broken]);
});

it('run as a program, as npm links it, starts node on itself with the settings: `wizard start` is one process', async () => {
  const daemon = spawn(bin, ['--home', node.home, 'start'], { stdio: ['ignore', 'pipe', 'pipe'], env: bareEnv() });
  const ended = new Promise((resolve) => daemon.on('exit', resolve));
  await waitFor('the daemon to answer status', async () => (await controlStatus(node.home, 2_000)).listen !== '', 20_000, 50);
  // The shell lines exec'd node in the same process: the pid spawned is the daemon, with no child of its own.
  expect(readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0')).toEqual(['node', '--max-semi-space-size=1', bin, '--home', node.home, 'start', '']);
  expect(readFileSync(`/proc/${daemon.pid}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');
  expect(childrenOf(daemon.pid as number).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('wizard'))).toEqual([]);
  daemon.kill('SIGTERM');
  expect(await ended).toBe(0);
});

it('run as a program, keeps the settings the caller gave', async () => {
  const env = { ...bareEnv(), MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-semi-space-size=8' };
  const daemon = spawn(bin, ['--home', node.home, 'start'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const ended = new Promise((resolve) => daemon.on('exit', resolve));
  await waitFor('the daemon to answer status', async () => (await controlStatus(node.home, 2_000)).listen !== '', 20_000, 50);
  expect(readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0')).not.toContain('--max-semi-space-size=1');
  expect(readFileSync(`/proc/${daemon.pid}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=4');
  expect(childrenOf(daemon.pid as number).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('wizard'))).toEqual([]);
  daemon.kill('SIGTERM');
  expect(await ended).toBe(0);
});

it('runs the daemon as its child with the settings, its output reaches the caller, and SIGTERM stops it cleanly (exit 0)', async () => {
  const run = await launch(node);
  const environ = readFileSync(`/proc/${run.daemonPid}/environ`, 'utf8').split('\0');
  expect(environ).toContain('MALLOC_ARENA_MAX=2');
  expect(readFileSync(`/proc/${run.daemonPid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=1');
  // Nothing further down: the daemon did not start itself a third time.
  expect(childrenOf(run.daemonPid).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('wizard'))).toEqual([]);
  expect(run.err()).toContain("Wizard node 'solo' is running.");
  run.launcher.kill('SIGTERM');
  expect(await run.ended).toEqual({ code: 0, signal: null });
  expect(run.out()).toContain('"signal":"SIGTERM","msg":"shutting down"');
  expect(existsSync(`/proc/${run.daemonPid}`)).toBe(false);
});

it('a Ctrl-C, which reaches the launcher and the daemon both, stops the daemon once and cleanly (exit 0)', async () => {
  const run = await launch(node);
  // As the terminal does: the process group gets it; the launcher passes its copy on as well.
  process.kill(run.daemonPid, 'SIGINT');
  run.launcher.kill('SIGINT');
  expect(await run.ended).toEqual({ code: 0, signal: null });
  expect(run.out().match(/"msg":"shutting down"/g)).toHaveLength(1);
});

it('the daemon stops by itself when its launcher is killed', async () => {
  const run = await launch(node);
  run.launcher.kill('SIGKILL');
  // The daemon still writes to the pipe it shares with the launcher: its last lines arrive there.
  await waitFor('the daemon to log its shutdown', () => run.out().includes('"signal":"launcher gone","msg":"shutting down"'), 10_000, 50);
  await waitFor('the daemon to end', () => !existsSync(`/proc/${run.daemonPid}`) || readFileSync(`/proc/${run.daemonPid}/stat`, 'utf8').includes(') Z '), 10_000, 50);
});

it("passes the daemon's exit code and its one-line error on: a broken config.yaml is exit 2", () => {
  const res = spawnSync(process.execPath, [bin, '--home', broken.home, 'start'], { encoding: 'utf8', env: bareEnv(), timeout: 20_000 });
  expect(res.status).toBe(2);
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(res.stderr).toMatch(/^wizard: .*config\.yaml/);
});
