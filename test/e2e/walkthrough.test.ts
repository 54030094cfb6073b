/**
 * The README's walk-through, as a new user follows it (issue 20, Proof):
 * install the packed package into a prefix, then on two machines (two user
 * homes, each with the default ~/.wizard) init, start, pair, edit, make a
 * conflict, read `wizard conflicts` on both sides, resolve it, restore from
 * the trash, and stop. Commands run through a shell with `wizard` on PATH,
 * and each friction point of the issue is checked on the exact text shown.
 *
 * The install: `npm pack` of the checkout, then by default the tarball's own
 * files under PREFIX/lib/node_modules with the checkout's installed
 * dependencies beside them (no native rebuild: seconds); with
 * WIZARD_WALKTHROUGH_NPM_INSTALL=1 (npm run test:long) a real
 * `npm install -g --prefix` of the tarball, which fetches and builds every
 * native dependency (7 min on 2 cores with an empty npm cache).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { controlStatus } from '../support/control-probe.js';
import { freePort, tempDir } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realInstall = process.env.WIZARD_WALKTHROUGH_NPM_INSTALL === '1';

let base: string;
let prefix: string;
const machines: Record<'laptop' | 'server', { home: string; port: number; daemon?: ReturnType<typeof spawn> }> = {
  laptop: { home: '', port: 0 },
  server: { home: '', port: 0 },
};

/** Runs a command line in a shell, as `who` would type it (their HOME, `wizard` on PATH). */
function sh(who: 'laptop' | 'server', line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: machines[who].home, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
    delete env.WIZARD_HOME;
    const child = spawn('sh', ['-c', line], { cwd: machines[who].home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `wizard start` in the background, as the README's `nohup wizard start >> ~/.wizard/start.log 2>&1 &`. */
async function start(who: 'laptop' | 'server'): Promise<void> {
  const m = machines[who];
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: m.home, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
  delete env.WIZARD_HOME;
  m.daemon = spawn('sh', ['-c', 'exec wizard start >> ~/.wizard/start.log 2>&1'], { cwd: m.home, env, stdio: 'ignore' });
  await waitFor(`${who} to listen`, async () => (await controlStatus(path.join(m.home, '.wizard'), 2_000)).listen !== '', 20_000, 50);
}

const status = (who: 'laptop' | 'server') => controlStatus(path.join(machines[who].home, '.wizard'));
const file = (who: 'laptop' | 'server', rel: string) => path.join(machines[who].home, who === 'laptop' ? 'Documents' : 'docs', rel);

beforeAll(async () => {
  base = tempDir('walkthrough');
  prefix = path.join(base, 'prefix');
  for (const who of ['laptop', 'server'] as const) {
    machines[who] = { home: path.join(base, who), port: await freePort() };
    mkdirSync(machines[who].home);
  }
  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', base, '--json'], { cwd: repo, encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const tarball = path.join(base, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename ?? '');
  if (realInstall) {
    const installed = spawnSync('npm', ['install', '-g', '--prefix', prefix, tarball], { encoding: 'utf8' });
    if (installed.status !== 0) throw new Error(`npm install -g failed: ${installed.stderr}`);
    return;
  }
  // What npm install -g lays out, from the tarball's own files: a file missing from package.json's "files" fails here too.
  const pkg = path.join(prefix, 'lib', 'node_modules', 'wizard-sync');
  mkdirSync(pkg, { recursive: true });
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1'], { encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  symlinkSync(path.join(repo, 'node_modules'), path.join(pkg, 'node_modules'));
  mkdirSync(path.join(prefix, 'bin'));
  symlinkSync(path.join(pkg, 'bin', 'wizard.js'), path.join(prefix, 'bin', 'wizard'));
}, realInstall ? 900_000 : 60_000);

afterAll(() => {
  for (const m of Object.values(machines)) m.daemon?.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

it('install: wizard is on the PATH outside the clone, and says its version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
  expect(await sh('laptop', 'wizard --version')).toMatchObject({ code: 0, stdout: `${version}\n` });
});

it('the README sends no one outside the repository, nor to npx', () => {
  const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
  // A path that starts by climbing out (`../shared/DESIGN.md`); `a/../b` in a symlink example is not one.
  expect(readme).not.toMatch(/(^|[\s`(])\.\.\/[A-Za-z]/m);
  expect(readme.split('\n').filter((l) => /^\s+npx wizard/.test(l))).toEqual([]);
  for (const [, ref] of readme.matchAll(/`((?:docs|scripts)\/[\w./-]+)`/g)) expect(existsSync(path.join(repo, ref ?? '')), ref).toBe(true);
});

it('init, start, copy the CA, init from it, start, pair: both connected', async () => {
  const { laptop, server } = machines;
  const a = await sh('laptop', `wizard init --name laptop --folder docs=~/Documents --listen 127.0.0.1:${laptop.port}`);
  expect(a.code, a.stderr).toBe(0);
  expect(a.stdout).toMatch(new RegExp(`^Initialised ${path.join(laptop.home, '.wizard')}\\nNode ID: [0-9a-f]{64}\\n$`));
  await start('laptop');
  mkdirSync(path.join(base, 'ca'));
  for (const f of ['ca.crt', 'ca.key']) copyFileSync(path.join(laptop.home, '.wizard', 'certs', f), path.join(base, 'ca', f));
  const b = await sh('server', `wizard init --name server --ca ${path.join(base, 'ca')} --folder docs=~/docs --listen 127.0.0.1:${server.port} && rm ${path.join(base, 'ca', 'ca.key')}`);
  expect(b.code, b.stderr).toBe(0);
  await start('server');
  const paired = await sh('server', `wizard pair 127.0.0.1:${laptop.port}`);
  expect(paired.code, paired.stderr).toBe(0);
  expect(paired.stdout).toMatch(/^Paired with laptop \([0-9a-f]{64}\) at 127\.0\.0\.1:\d+\nShared on both nodes: docs\n$/);
  await waitFor('both connected', async () => (await status('laptop')).peers[0]?.connected === true && (await status('server')).peers[0]?.connected === true);
  expect((await sh('server', 'wizard status')).stdout).toMatch(/\n {2}laptop {2}connected {2}/);
});

it("the web page of the installed package: 'wizard gui' logs in, and the page, its script and preact+htm come from the install", async () => {
  const gui = await sh('server', 'wizard gui --json');
  expect(gui.code, gui.stderr).toBe(0);
  const url = (JSON.parse(gui.stdout) as { url: string }).url;
  const login = await fetch(url, { redirect: 'manual' });
  expect(login.status).toBe(303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  for (const asset of ['/', '/app.js', '/vendor/preact-htm.js']) {
    const res = await fetch(new URL(asset, url), { headers: { cookie } });
    expect([asset, res.status]).toEqual([asset, 200]);
  }
});

it('an edit on one machine reaches the other, and a conflict reads right on both and resolves', async () => {
  writeFileSync(file('laptop', 'notes.txt'), 'first draft');
  await waitFor('notes.txt on the server', () => existsSync(file('server', 'notes.txt')) && readFileSync(file('server', 'notes.txt'), 'utf8') === 'first draft');
  expect(await sh('server', 'wizard stop')).toMatchObject({ code: 0, stdout: `Stopped the Wizard daemon of ${path.join(machines.server.home, '.wizard')}.\n` });
  writeFileSync(file('server', 'notes.txt'), 'the server edit');
  writeFileSync(file('laptop', 'notes.txt'), 'the laptop edit');
  // The laptop's edit is newer, so it keeps the name and the server's becomes the copy.
  const later = new Date(Date.now() + 60_000);
  utimesSync(file('laptop', 'notes.txt'), later, later);
  await start('server');
  await waitFor('the conflict counted on both', async () => (await status('laptop')).folders[0]?.conflicts === 1 && (await status('server')).folders[0]?.conflicts === 1, 30_000);
  const onServer = await sh('server', 'wizard conflicts');
  expect(onServer.stdout).toMatch(/^docs\/notes\.txt {2}\(conflict at [\d-]+ [\d:]+\)\n {2}the file: {7}the edit that won, modified .*, 15 B\n {2}conflict copy: {2}this node's edit \(server\), which lost; modified .*, 15 B\n {18}notes\.sync-conflict-\d{8}-\d{6}-server-[0-9a-f]{7}\.txt\n/);
  const onLaptop = await sh('laptop', 'wizard conflicts');
  expect(onLaptop.stdout).toMatch(/\n {2}conflict copy: {2}server's edit, which lost; /);
  expect((await sh('server', 'wizard status')).stdout).toMatch(/ {2}in sync\n {4}1 conflict: see 'wizard conflicts'\n/);
  const kept = await sh('server', 'cd ~/docs && wizard conflicts keep notes.txt --mine');
  expect(kept.stdout, kept.stderr).toMatch(/^Kept the conflict copy \(this node's edit \(server\)\) at docs\/notes\.txt\nThe other side is in the trash as notes\.txt~/);
  await waitFor("the server's edit on the laptop, the conflict gone", async () => readFileSync(file('laptop', 'notes.txt'), 'utf8') === 'the server edit' && (await status('laptop')).folders[0]?.conflicts === 0);
});

it('restores from the trash, and stops', async () => {
  const none = await sh('laptop', 'wizard trash list zzz');
  expect(none.stdout).toMatch(/^Nothing in the trash matches 'zzz' \(it holds \d+ entr(y|ies); 'wizard trash list' shows them all\)\.\n$/);
  const restored = await sh('laptop', 'wizard trash restore ~/Documents/notes.txt');
  expect(restored.stdout, restored.stderr).toMatch(/^Restored docs\/notes\.txt from notes\.txt~/);
  expect(readFileSync(file('laptop', 'notes.txt'), 'utf8')).toBe('the laptop edit');
  await waitFor('the restore on the server', () => readFileSync(file('server', 'notes.txt'), 'utf8') === 'the laptop edit');
  for (const who of ['laptop', 'server'] as const) expect((await sh(who, 'wizard stop')).code).toBe(0);
});
