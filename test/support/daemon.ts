/**
 * Real Wizard daemons as child processes, for end-to-end tests: temp homes,
 * loopback ports, the real CLI. Each helper registers its own cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addPeer, shareFolder } from '../../src/config/edit.js';
import { configPath } from '../../src/config/file.js';
import { contentHash } from '../../src/core/content-hash.js';
import type { StatusSnapshot } from '../../src/node.js';
import { controlStatus } from './control-probe.js';
import { waitFor } from './wait.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'bin', 'wizard.js');

/** The result of one CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `wizard --home HOME ...args` to completion. */
export function runCli(home: string, args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--home', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wizard ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * A free TCP port on 127.0.0.1, taken below the kernel's ephemeral range. The daemon binds it later,
 * and a port the kernel handed out for `listen(0)` is one it may hand out again meanwhile as the
 * local port of any outgoing connection (another test's peer dialling, say): the daemon then failed
 * with EADDRINUSE. Ports below the range are only ever taken by an explicit bind.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow() - 1;
  // A kernel whose ephemeral range starts that low leaves no room below it: the port listen(0) gives, as before.
  if (low < 11_000) return anyFreePort();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between 10000 and ${low}`);
}

/** Ports this process has given out: two nodes of one test never get the same one. */
const handedOut = new Set<number>();

/** The lowest port of the kernel's ephemeral range (Linux's default when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** A port listen(0) gives, closed again: free now, but the kernel may hand it out again (see freePort). */
async function anyFreePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A temp dir removed when the test process ends (and by `cleanup`). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `wizard-${prefix}-`));
}

/** One test node: a home, a folder, a port. */
export interface TestNode {
  readonly name: string;
  readonly home: string;
  readonly folder: string;
  readonly port: number;
  id: string;
  daemon: Daemon | undefined;
}

/** Initialises a node; with `caFrom`, its certificate is issued by that node's CA. */
export async function initNode(base: string, name: string, caFrom?: TestNode): Promise<TestNode> {
  const home = path.join(base, name, 'home');
  const folder = path.join(base, name, 'folder');
  const port = await freePort();
  const args = ['init', '--name', name, '--listen', `127.0.0.1:${port}`, '--folder', `shared=${folder}`, '--json'];
  if (caFrom !== undefined) args.push('--ca', path.join(caFrom.home, 'certs'));
  const res = await runCli(home, args);
  if (res.code !== 0) throw new Error(`init ${name} failed: ${res.stderr}`);
  const { id } = JSON.parse(res.stdout) as { id: string };
  return { name, home, folder, port, id, daemon: undefined };
}

/** A running daemon. */
export class Daemon {
  private output = '';
  private exited: Promise<number | null>;
  private ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly node: TestNode,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.ended = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exited = this.ended.then(({ code }) => code);
  }

  /** Waits for the process to end by itself (a crash point, a fatal error); throws after `timeoutMs`. */
  async exit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.node.name} did not exit within ${timeoutMs} ms\n--- log tail ---\n${this.output.slice(-3000)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The daemon's process ID. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything the daemon printed (logs included), for failure messages. */
  get log(): string {
    return this.output;
  }

  /** Whether the process is still running (no exit, no fatal signal such as an out-of-memory abort). */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * The daemon's status: the snapshot `wizard status --json` prints, asked
   * over the control socket from this process. Tests poll it often, and a
   * CLI process per poll (node's start alone is a quarter of a second of CPU)
   * took more of the two cores than the daemons under test; the CLI's own
   * output is tested by the tests of `wizard status`.
   */
  status(): Promise<StatusSnapshot> {
    return controlStatus(this.node.home, 10_000);
  }

  /** Closes our end of the daemon's stdout pipe, as a log reader that went away would: its next writes there fail with EPIPE. */
  closeStdout(): void {
    this.child.stdout?.destroy();
  }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGKILL and wait. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** How to start a daemon beyond the defaults. */
export interface DaemonOptions {
  /** Flags for the node binary itself, before the script, e.g. `--max-old-space-size=256` to make an out-of-memory abort fail the test. */
  readonly nodeFlags?: readonly string[];
  /** A command line the daemon runs under (it must exec it, keeping the pid): `unshare ...`, say. */
  readonly launcher?: readonly string[];
}

/**
 * The memory settings bin/wizard.js would start the daemon once more to get (test/e2e/launcher.test.ts
 * tests that): given here, so the process spawned is the daemon itself, whose pid tests signal and kill.
 */
const daemonSettings = { env: { MALLOC_ARENA_MAX: '2' }, nodeFlags: ['--max-semi-space-size=1'] };

/** Spawns `wizard start` for a node without waiting for it: for a daemon meant to die early (a crash point). */
export function spawnDaemon(node: TestNode, env: NodeJS.ProcessEnv = {}, options: DaemonOptions = {}): Daemon {
  const argv = [...(options.launcher ?? []), process.execPath, ...daemonSettings.nodeFlags, ...(options.nodeFlags ?? []), bin, '--home', node.home, 'start'];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...daemonSettings.env, ...env } });
  const daemon = new Daemon(node, child);
  node.daemon = daemon;
  return daemon;
}

/** Starts `wizard start` for a node and waits until its control socket answers. */
export async function startDaemon(node: TestNode, env: NodeJS.ProcessEnv = {}, options: DaemonOptions = {}): Promise<Daemon> {
  const daemon = spawnDaemon(node, env, options);
  // The control socket answers before the listener is bound; ready means listening.
  await waitFor(`${node.name} to answer status`, async () => (await daemon.status()).listen !== '', 20_000, 50).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- ${node.name} output ---\n${daemon.log}`);
  });
  return daemon;
}

/** Waits until `a` and `b` report each other connected. */
export async function waitConnected(a: TestNode, b: TestNode, timeoutMs = 20_000): Promise<void> {
  await waitFor(`${a.name} and ${b.name} to connect`, async () => (await isLinked(a, b)) && (await isLinked(b, a)), timeoutMs);
}

/** A folder's content as sorted lines: `d path`, `f path hash` (the content hash, as the index has it), `l path target`. Ignores `.wizard/`. */
export function treeOf(root: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (child === '.wizard' || name.startsWith('.~wizard-')) continue;
      const abs = path.join(root, child);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        lines.push(`d ${child}`);
        walk(child);
      } else if (st.isSymbolicLink()) lines.push(`l ${child} ${readlinkSync(abs)}`);
      else lines.push(`f ${child} ${contentHash(readFileSync(abs))}`);
    }
  };
  walk('');
  return lines.sort();
}

/** Waits until both folders hold the same tree; returns it. */
export async function waitSameTree(a: TestNode, b: TestNode, timeoutMs = 30_000): Promise<string[]> {
  let last: [string[], string[]] = [[], []];
  try {
    return await waitFor(
      `${a.name} and ${b.name} to hold the same tree`,
      () => {
        last = [treeOf(a.folder), treeOf(b.folder)];
        return JSON.stringify(last[0]) === JSON.stringify(last[1]) ? last[0] : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${String(err)}\n${a.name}: ${last[0].join('\n  ')}\n${b.name}: ${last[1].join('\n  ')}\n--- ${b.name} log tail ---\n${b.daemon?.log.slice(-3000) ?? ''}`);
  }
}

/** Waits until both nodes report their first folder in sync; on timeout the error carries both statuses and log tails. */
export async function waitBothInSync(a: TestNode, b: TestNode, timeoutMs = 20_000): Promise<void> {
  let last: [StatusSnapshot | undefined, StatusSnapshot | undefined] = [undefined, undefined];
  try {
    await waitFor(
      `${a.name} and ${b.name} to be in sync`,
      async () => {
        last = [await a.daemon?.status(), await b.daemon?.status()];
        return last[0]?.folders[0]?.inSync === true && last[1]?.folders[0]?.inSync === true;
      },
      timeoutMs,
    );
  } catch (err) {
    const show = (n: TestNode, s: StatusSnapshot | undefined) => `--- ${n.name} status ---\n${JSON.stringify(s)}\n--- ${n.name} log tail ---\n${n.daemon?.log.slice(-3000) ?? ''}`;
    throw new Error(`${String(err)}\n${show(a, last[0])}\n${show(b, last[1])}`);
  }
}

/**
 * Waits for a moment when every node's `wizard status` says its first folder
 * is in sync with every other node connected, and their trees are identical
 * then: the statuses are read before and after the trees, and all of them
 * must say in sync both times. Returns the tree. Pairwise checks at different
 * moments can pass while a third node still disagrees; this cannot.
 */
export async function waitAllInSync(nodes: readonly TestNode[], timeoutMs = 60_000): Promise<string[]> {
  const settled = (s: StatusSnapshot | undefined, self: TestNode) =>
    s?.folders[0]?.inSync === true && nodes.every((n) => n === self || s.peers.some((p) => p.id === n.id && p.connected));
  const statuses = () => Promise.all(nodes.map((n) => n.daemon?.status() ?? Promise.resolve(undefined)));
  let last: { statuses: Array<StatusSnapshot | undefined>; trees: string[][] } = { statuses: [], trees: [] };
  try {
    return await waitFor(
      `${nodes.map((n) => n.name).join(', ')} to be in sync at once, with the same tree`,
      async () => {
        const before = await statuses();
        last = { statuses: before, trees: [] };
        if (!before.every((s, i) => settled(s, nodes[i] as TestNode))) return undefined;
        const trees = nodes.map((n) => treeOf(n.folder));
        const after = await statuses();
        last = { statuses: after, trees };
        if (!after.every((s, i) => settled(s, nodes[i] as TestNode))) return undefined;
        return trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0])) ? trees[0] : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    const show = (n: TestNode, i: number) =>
      `--- ${n.name} status ---\n${JSON.stringify(last.statuses[i])}\n--- ${n.name} tree ---\n  ${(last.trees[i] ?? []).join('\n  ')}\n--- ${n.name} log tail ---\n${n.daemon?.log.slice(-2000) ?? ''}`;
    throw new Error(`${String(err)}\n${nodes.map(show).join('\n')}`);
  }
}

/** Stops every daemon and removes the base dir. */
export async function cleanup(base: string, nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.daemon?.kill() ?? Promise.resolve()));
  rmSync(base, { recursive: true, force: true });
}

/** Two running daemons, beta's certificate from alpha's CA, paired with the real CLI and connected. */
export async function startPairedNodes(prefix: string): Promise<{ base: string; a: TestNode; b: TestNode }> {
  const base = tempDir(prefix);
  const a = await initNode(base, 'alpha');
  const b = await initNode(base, 'beta', a);
  await startDaemon(a);
  await startDaemon(b);
  const paired = await runCli(b.home, ['pair', `127.0.0.1:${a.port}`]);
  if (paired.code !== 0) throw new Error(`pair failed: ${paired.stderr}`);
  await waitConnected(a, b);
  return { base, a, b };
}

/**
 * Writes `peer` into a stopped node's config, without pairing, and shares the
 * node's test folder ('shared') with it: for tests that route links through a
 * proxy (the address) or want one side never to dial (address '').
 */
export function setPeer(node: TestNode, peer: TestNode, address: string): void {
  const text = addPeer(readFileSync(configPath(node.home), 'utf8'), { id: peer.id, name: peer.name, address });
  writeFileSync(configPath(node.home), shareFolder(text, 'shared', peer.id));
}

/** Whether `x`'s daemon reports `y` connected. */
export async function isLinked(x: TestNode, y: TestNode): Promise<boolean> {
  return (await x.daemon?.status())?.peers.some((p) => p.id === y.id && p.connected) ?? false;
}
