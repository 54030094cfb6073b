/**
 * Status, live view, --why and trash restore against real daemons: the JSON
 * shape, the live view through a real pseudo-terminal (util-linux `script`),
 * hostile names from a peer escaped, and a restored file reaching the peer.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configPath } from '../../src/config/file.js';
import { cleanup, freePort, runCli, type TestNode, startPairedNodes } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/wizard.js');

let base: string;
let a: TestNode;
let b: TestNode;

/** Starts `wizard status --watch` (through `wrap`, if given) and collects its output until stopped. */
function watch(home: string, wrap?: (cmd: string[]) => string[], extra: string[] = []) {
  const cmd = [process.execPath, bin, '--home', home, 'status', '--watch', '--interval', '200', ...extra];
  const argv = wrap === undefined ? cmd : wrap(cmd);
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, COLUMNS: '160', LINES: '50' } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

const filesOf = (frame: string) => Number(/shared {2}\S+\r?\n {4}(\d+) files?,/.exec(frame)?.[1] ?? -1);

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('status'));
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

describe('wizard status', () => {
  it('prints one JSON object with peers, folders, transfers, settings and errors', async () => {
    const res = await runCli(a.home, ['status', '--json']);
    expect(res.code).toBe(0);
    const s = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(s.discovery).toMatchObject({ state: expect.stringMatching(/^(running|idle)$/) as string, port: 7844 });
    expect(Object.keys(s).sort()).toEqual(['discovery', 'errors', 'folders', 'gui', 'id', 'listen', 'name', 'offers', 'pairingRequests', 'peers', 'process', 'services', 'settings', 'transferSlots', 'transfers']);
    // Daemons on one machine may hear each other's LAN announcements (through its own interface), or not yet.
    const peers = (s.peers as Array<Record<string, unknown>>).map(({ lan, ...rest }) => {
      if (lan !== undefined) expect(lan).toEqual({ address: expect.stringMatching(/:\d+$/) as string, seenAtMs: expect.any(Number) as number });
      return rest;
    });
    expect(peers).toEqual([
      {
        id: b.id,
        name: 'beta',
        address: expect.any(String) as string,
        connected: true,
        bytesSent: expect.any(Number) as number,
        bytesReceived: expect.any(Number) as number,
        latencyMs: expect.any(Number) as number,
        sendBytesPerSecond: expect.any(Number) as number,
        receiveBytesPerSecond: expect.any(Number) as number,
        compression: { mode: 'auto', codec: 'none', reason: expect.any(String) as string },
      },
    ]);
    expect(s.transfers).toEqual([]);
    expect(s.transferSlots).toEqual({ running: 0, files: 0, waiting: 0, peak: expect.any(Number) as number });
    expect(s.settings).toMatchObject({ trashRetentionDays: 30, logLevel: 'info' });
    // The daemon's memory by kind; the heap is part of the resident set.
    const proc = s.process as { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number; externalBytes: number; arrayBuffersBytes: number; workerThreads: number };
    expect(proc.rssBytes).toBeGreaterThan(proc.heapUsedBytes);
    expect(proc.heapTotalBytes).toBeGreaterThanOrEqual(proc.heapUsedBytes);
    expect(proc.workerThreads).toBeGreaterThanOrEqual(0);
    const folder = (s.folders as Array<{ id: string; fullScans: { count: number; lastMs: number } }>).find((f) => f.id === 'shared');
    expect(folder?.fullScans.count).toBeGreaterThanOrEqual(1);
    // Every long-running part is supervised and healthy.
    const services = s.services as Array<{ name: string; state: string; restarts: number }>;
    for (const name of ['folder:shared', 'trash-purger', 'control-socket', 'web-server', 'config-watcher', 'lan-discovery']) {
      expect(services).toContainEqual({ name, state: 'running', restarts: 0 });
    }
  });

  it('fails with exit 1 and one line when no daemon runs, exit 2 for a path outside every folder', async () => {
    const none = await runCli(path.join(base, 'nowhere'), ['status']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^wizard: no Wizard daemon is running with home .*; start it with 'wizard start --home /);
    const outside = await runCli(a.home, ['status', '--why', '/definitely/not/synced']);
    expect(outside.code).toBe(2);
  });
});

describe('wizard status --why', () => {
  it('explains a synced path, and an ignored one', async () => {
    writeFileSync(path.join(a.folder, 'why.txt'), 'explain me');
    await waitFor('why.txt on beta', () => existsSync(path.join(b.folder, 'why.txt')));
    await waitFor('beta to acknowledge why.txt', async () => {
      const w = JSON.parse((await runCli(a.home, ['status', '--why', path.join(a.folder, 'why.txt'), '--json'])).stdout) as { inSync: boolean };
      return w.inSync;
    });
    const text = await runCli(a.home, ['status', '--why', 'why.txt', '--folder', 'shared']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^shared\/why\.txt: in sync\n {2}this node: file 10 B {2}version /);
    expect(text.stdout).toMatch(/beta \(connected\): file 10 B, same/);
    // A path no node has is not "in sync" with its newest content "at this node" (issue 20, item 7).
    const nobody = await runCli(a.home, ['status', '--why', 'no-such-file.txt', '--folder', 'shared']);
    expect(nobody.stdout).toBe(
      "shared/no-such-file.txt: not known to any node\n  this node: not known\n  beta (connected): has no entry\n  - unknown path: not on this node and in no peer's index; check the spelling and the folder ('shared')\n",
    );

    writeFileSync(path.join(a.folder, '.wizardignore'), 'private/\n');
    const why = await waitFor('the ignore to apply', async () => {
      const w = JSON.parse((await runCli(a.home, ['status', '--why', 'private/x', '--json'])).stdout) as { reasons: string[] };
      return w.reasons.some((r) => r.startsWith('ignored:')) ? w : undefined;
    });
    expect(why).toMatchObject({ path: 'private/x', inSync: false, local: { exists: false } });
  });

  it('F10: escapes a hostile file name that came from the peer', async () => {
    const hostile = 'invoice\u202Etxt.exe';
    writeFileSync(path.join(b.folder, hostile), 'x');
    await waitFor('the hostile name on alpha', () => existsSync(path.join(a.folder, hostile)));
    const res = await runCli(a.home, ['status', '--why', hostile]);
    expect(res.stdout).toContain('invoice\\u{202e}txt.exe');
    expect(res.stdout).not.toContain('\u202E');
  });
});

describe('wizard status --watch', () => {
  it('renders in a pseudo-terminal and redraws in place as the folder changes', async () => {
    const view = watch(a.home, (cmd) => ['script', '-q', '-e', '-c', cmd.map((c) => `'${c}'`).join(' '), '/dev/null']);
    try {
      const first = await waitFor('a first frame', () => {
        const frames = view.output().split('\u001b[H');
        // The second frame is the first with rates, which need two snapshots.
        const last = frames.at(-2) ?? '';
        return frames.length > 3 && filesOf(last) >= 0 ? last : undefined;
      }, 10_000);
      expect(first).toContain('Peers:');
      expect(first).toMatch(/beta {2}connected {2}127\.0\.0\.1:\d+ {2}\d+ ms\W+\[K\r?\n {4}up [\d.]+ (B|KiB)\/s, down [\d.]+ (B|KiB)\/s; sent /);
      expect(first).toMatch(/compression none: the link keeps up/);
      const before = filesOf(first);
      writeFileSync(path.join(a.folder, 'watched.txt'), 'new');
      await waitFor('a frame with one more file', () => view.output().split('\u001b[H').some((f) => filesOf(f) === before + 1), 10_000);
      expect(view.output()).toContain('\u001b[?25l');
    } finally {
      view.child.kill('SIGKILL');
      await view.exited;
    }
  });

  it('prints plain frames, free of control sequences, when not on a terminal, and exits 0 on SIGINT', async () => {
    const view = watch(a.home);
    await waitFor('two frames', () => view.output().split('Updated ').length > 2, 10_000);
    view.child.kill('SIGINT');
    expect(await view.exited).toBe(0);
    expect(view.output()).not.toContain('\u001b');
    expect(view.output()).toContain('Folders:\n  shared  ');
  });
});

describe('wizard status --watch --json', () => {
  it('prints one snapshot per line', async () => {
    const view = watch(a.home, undefined, ['--json']);
    await waitFor('two lines', () => view.output().split('\n').length > 2, 10_000);
    view.child.kill('SIGINT');
    expect(await view.exited).toBe(0);
    const lines = view.output().trim().split('\n').map((l) => JSON.parse(l) as { id: string; folders: unknown[] });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatchObject({ id: a.id, folders: [expect.objectContaining({ id: 'shared' }) as unknown] });
  });
});

describe('wizard conflicts with running daemons', () => {
  it("names the node whose edit the copy holds by its name in the config, and status counts the copy", async () => {
    writeFileSync(path.join(a.folder, 'clash.txt'), 'kept');
    await waitFor('clash.txt on beta', () => existsSync(path.join(b.folder, 'clash.txt')));
    const copy = `clash.sync-conflict-20261125-093005-${b.id.slice(0, 16)}.txt`;
    writeFileSync(path.join(a.folder, copy), 'lost');
    const res = await runCli(a.home, ['conflicts', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const { conflicts } = JSON.parse(res.stdout) as { conflicts: unknown[] };
    expect(conflicts).toEqual([expect.objectContaining({ original: 'clash.txt', copyBy: 'beta', copyIsOurs: false })]);
    expect((await runCli(a.home, ['conflicts'])).stdout).toMatch(/\n {2}conflict copy: {2}beta's edit, which lost; /);
    await waitFor('the copy counted on both sides', async () => {
      const [sa, sb] = await Promise.all([a.daemon?.status(), b.daemon?.status()]);
      return sa?.folders[0]?.conflicts === 1 && sb?.folders[0]?.conflicts === 1;
    });
    expect((await runCli(b.home, ['status'])).stdout).toMatch(/\n {2}shared {2}\S+\n {4}\d+ files, .* {2}in sync\n {4}1 conflict: see 'wizard conflicts'\n/);
    rmSync(path.join(a.folder, copy));
    await waitFor('the count back to none on beta', async () => (await b.daemon?.status())?.folders[0]?.conflicts === 0);
  });
});

describe('wizard trash restore with running daemons', () => {
  it('brings back a file deleted on the peer, and the restore syncs back as a new edit', async () => {
    writeFileSync(path.join(a.folder, 'precious.txt'), 'do not lose me');
    await waitFor('precious.txt on beta', () => existsSync(path.join(b.folder, 'precious.txt')));
    rmSync(path.join(a.folder, 'precious.txt'));
    await waitFor('precious.txt gone from beta', () => !existsSync(path.join(b.folder, 'precious.txt')));
    const listed = JSON.parse((await runCli(b.home, ['trash', 'list', 'precious.txt', '--json'])).stdout) as { entries: Array<{ cause: string }> };
    expect(listed.entries.map((e) => e.cause)).toEqual(['deleted']);
    const res = await runCli(b.home, ['trash', 'restore', path.join(b.folder, 'precious.txt')]);
    expect(res.code, res.stderr).toBe(0);
    await waitFor('the restored file back on alpha', () => existsSync(path.join(a.folder, 'precious.txt')), 10_000);
    expect(readFileSync(path.join(a.folder, 'precious.txt'), 'utf8')).toBe('do not lose me');
  });
});

describe('GET /metrics on the web server', () => {
  const urlOf = async (node: TestNode) => {
    const s = (await node.daemon?.status()) as unknown as { gui?: { url: string } };
    if (s.gui === undefined) throw new Error(`${node.name} reports no web server`);
    return s.gui.url;
  };
  const tokenOf = (node: TestNode) => readFileSync(path.join(node.home, 'gui-token'), 'utf8').trim();

  it('answers in the Prometheus text format, with the same figures as status, for the token as a bearer', async () => {
    const res = await fetch(`${await urlOf(a)}/metrics`, { headers: { authorization: `Bearer ${tokenOf(a)}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const families = new Map(parsePrometheusTextFormat(await res.text()).map((f) => [f.name, f]));
    const status = await a.daemon?.status();
    const shared = status?.folders.find((f) => f.id === 'shared');
    expect(families.get('wizard_folder_files')?.metrics).toContainEqual({ value: String(shared?.files), labels: { folder: 'shared' } });
    expect(families.get('wizard_peer_connected')?.metrics).toContainEqual({ value: '1', labels: { peer: b.id, peer_name: 'beta' } });
    expect(families.get('wizard_peer_sent_bytes_total')?.type).toBe('COUNTER');
    expect(Number(families.get('wizard_folder_full_scans_total')?.metrics[0]?.value)).toBeGreaterThanOrEqual(1);
    expect(Number(families.get('wizard_process_resident_memory_bytes')?.metrics[0]?.value)).toBeGreaterThan(0);
  });

  it('refuses a request without the token (401), with a wrong one (401), and one whose Host is not this machine (403), saying nothing else', async () => {
    const url = await urlOf(a);
    const port = new URL(url).port;
    const bare = await fetch(`${url}/metrics`);
    expect([bare.status, await bare.text()]).toEqual([401, 'Unauthorized\n']);
    const wrong = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${'x'.repeat(43)}` } });
    expect(wrong.status).toBe(401);
    // A rebinding attack: a page on evil.example whose name now points at 127.0.0.1 sends its own Host.
    const rebound = await rawGet(Number(port), '/metrics', { host: `evil.example:${port}`, authorization: `Bearer ${tokenOf(a)}` });
    expect([rebound.status, rebound.body]).toEqual([403, 'Forbidden\n']);
  });

  it('keeps its token in a file only the user can read, and takes a free port when the configured one is taken', async () => {
    for (const node of [a, b]) expect(statSync(path.join(node.home, 'gui-token')).mode & 0o777).toBe(0o600);
    // Both nodes were configured with 127.0.0.1:7843: at most one has it, and both answer.
    const [ua, ub] = [await urlOf(a), await urlOf(b)];
    expect(ua).not.toBe(ub);
    const res = await fetch(`${ub}/metrics`, { headers: { authorization: `Bearer ${tokenOf(b)}` } });
    expect(res.status).toBe(200);
  });

  it('moves to the new address when gui.listen is edited, live', async () => {
    const port = await freePort();
    const file = configPath(b.home);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^( +listen:) .*$/m, `$1 127.0.0.1:${port}`));
    await waitFor('the web server on the new port', async () => (await urlOf(b)) === `http://127.0.0.1:${port}`, 10_000);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${tokenOf(b)}` } });
    expect(res.status).toBe(200);
  });
});

/** A GET with exactly these headers (fetch does not let a caller set Host). */
function rawGet(port: number, pathName: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathName, headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
