/**
 * Tests about real permission bits (a chmod 000 dir, an unreadable file)
 * prove nothing as root, which reads and writes whatever the bits say, and
 * CI runs as root. `itAsNonRoot` runs such a test directly for a normal user;
 * under root it runs the same test again in a child vitest as the user
 * `nobody` (setpriv, util-linux), limited to that one test, and passes when
 * the child's run of it passes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vitestBin = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');
/** uid and gid of nobody:nogroup on Debian. */
const NOBODY = { uid: 65534, gid: 65534 };
const DROP = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

/** Whether this process runs as root. */
export const isRoot = process.getuid?.() === 0;

/**
 * Why a test cannot run as a normal user here; undefined when it can (this
 * process is not root, or root can become nobody and nobody can read the
 * repo and run vitest from it).
 */
export const nonRootUnavailable: string | undefined = (() => {
  if (!isRoot) return undefined;
  const probe = spawnSync('setpriv', [...DROP, process.execPath, '-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', vitestBin], { encoding: 'utf8' });
  if (probe.error !== undefined) return `running as root and setpriv cannot be run (${probe.error.message})`;
  if (probe.status !== 0) return `running as root and the user nobody cannot read ${vitestBin} (${probe.stderr.trim().split('\n').at(-1) ?? ''})`;
  return undefined;
})();

/** A test name as a vitest -t pattern that matches it literally. */
const literal = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs the test `name` of `file` in a child vitest as nobody; resolves to its JSON report and output. */
async function runAsNobody(file: string, name: string): Promise<{ passed: number; failed: number; output: string }> {
  // The report dir and HOME belong to nobody; the test makes its own temp dirs under /tmp.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-as-nobody-'));
  chownSync(dir, NOBODY.uid, NOBODY.gid);
  const report = path.join(dir, 'report.json');
  const args = [
    ...DROP,
    'env',
    `HOME=${dir}`,
    process.execPath,
    vitestBin,
    'run',
    path.relative(repo, file),
    '-t',
    literal(name),
    // vitest's default config loader writes a bundled config under node_modules, which nobody cannot.
    '--configLoader',
    'runner',
    '--reporter=json',
    `--outputFile=${report}`,
  ];
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('setpriv', args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults?: Array<{ assertionResults?: Array<{ status: string; fullName: string; failureMessages?: string[] }> }>;
    };
    // The reporter writes the failures to the report, not to the output: carry them into the message.
    const failures = (parsed.testResults ?? [])
      .flatMap((f) => f.assertionResults ?? [])
      .filter((a) => a.status === 'failed')
      .map((a) => `${a.fullName}: ${(a.failureMessages ?? []).join('\n')}`);
    return { passed: parsed.numPassedTests, failed: parsed.numFailedTests, output: [output, ...failures].join('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `it` for a test that needs permission bits to apply. As a normal user it is
 * an ordinary test. As root it runs the same test as nobody in a child
 * vitest (it is then this test file's name and `name`, run by the child),
 * or is skipped with the reason when that is impossible here.
 */
export function itAsNonRoot(fileUrl: string, name: string, fn: () => Promise<void>, timeoutMs = 60_000): void {
  if (!isRoot) {
    it(name, fn, timeoutMs);
    return;
  }
  if (nonRootUnavailable !== undefined) {
    it.skip(`${name} (skipped: ${nonRootUnavailable})`, fn);
    return;
  }
  it(`${name} [as nobody]`, async () => {
    const result = await runAsNobody(fileURLToPath(fileUrl), name);
    expect(result.failed, result.output.slice(-4000)).toBe(0);
    expect(result.passed, `the child run found no test named ${JSON.stringify(name)}\n${result.output.slice(-4000)}`).toBe(1);
  }, timeoutMs + 30_000);
}
