/**
 * Issue 15, item 9: a stdout whose reader went away. The daemon notices once,
 * keeps its log in HOME/daemon.log, keeps syncing at low CPU and stops on
 * SIGTERM as usual (it used to log each failed write as an unowned error to
 * the same stdout, forever); `wizard status --watch | head -3` ends quietly.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configPath } from '../../src/config/file.js';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, type TestNode } from '../support/daemon.js';
import { cpuSeconds } from '../support/process-cpu.js';
import { waitFor } from '../support/wait.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/wizard.js');

let base: string;
let a: TestNode;
let b: TestNode;


beforeAll(async () => {
  base = tempDir('closed-stdout');
  a = await initNode(base, 'alpha');
  b = await initNode(base, 'beta', a);
  // Debug lines on every scan: each file synced makes alpha write to its stdout.
  writeFileSync(configPath(a.home), readFileSync(configPath(a.home), 'utf8').replace(/level: info/, 'level: debug'));
  await startDaemon(a);
  await startDaemon(b);
  const paired = await runCli(b.home, ['pair', `127.0.0.1:${a.port}`]);
  if (paired.code !== 0) throw new Error(`pair failed: ${paired.stderr}`);
  await waitConnected(a, b);
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

describe('a stdout whose reader went away', () => {
  it('the daemon keeps syncing at low CPU, logs to HOME/daemon.log, shows it in status, and SIGTERM stops it with exit code 0', async () => {
    const daemon = a.daemon;
    const pid = daemon?.pid;
    if (daemon === undefined || pid === undefined) throw new Error('alpha is not running');
    const logFile = path.join(a.home, 'daemon.log');
    daemon.closeStdout();
    writeFileSync(path.join(a.folder, 'after-close.txt'), 'still syncing');

    // The scan of that file logs, and finds stdout closed. A daemon that logs each failure to the same stdout spins here.
    const windowStart = Date.now();
    const cpuBefore = cpuSeconds(pid);
    await waitFor('two seconds to pass', () => Date.now() - windowStart >= 2000, 3000);
    const cpuShare = (cpuSeconds(pid) - cpuBefore) / ((Date.now() - windowStart) / 1000);
    // About 0.015 of a core here; a daemon spinning on its failed writes got 0.52 even on this machine shared with a load of 12.
    expect(cpuShare).toBeLessThan(0.2);

    await waitFor('the file to reach beta', () => existsSync(path.join(b.folder, 'after-close.txt')) && readFileSync(path.join(b.folder, 'after-close.txt'), 'utf8') === 'still syncing', 15_000);
    const status = await daemon.status();
    expect(status.log).toMatchObject({ destination: 'file', file: logFile, dropped: 0, stdoutError: expect.stringContaining('EPIPE') as string });
    const human = await runCli(a.home, ['status']);
    expect(human.stdout).toContain(`logging to ${logFile}`);
    // Noticed once: one line says where the log went, not one per failed write.
    const switched = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('stdout no longer takes log lines'));
    expect(switched).toHaveLength(1);
    expect(status.services.find((s) => s.name === 'process')).toBeUndefined();

    const stoppedAt = Date.now();
    expect(await daemon.stop()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(readFileSync(logFile, 'utf8')).toContain('"msg":"shutting down"');
  });

  it('`wizard status --watch | head -3` prints three lines and exits 0, with nothing on stderr', async () => {
    // A real shell pipeline; pipefail makes the pipeline's code wizard's when wizard fails.
    const script = `set -o pipefail; "${process.execPath}" "${bin}" --home "${b.home}" status --watch --interval 100 | head -3`;
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((l) => l !== '')).toHaveLength(3);
  });
});
