/**
 * The local control socket: a Unix socket in the home (mode 0600, so only
 * the user who runs Wizard can talk to it) through which `wizard status` and
 * other commands reach the running daemon. One JSON request per line, one
 * JSON response per line.
 */
import { chmod, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describeError, WizardError } from '../core/errors.js';

/** The socket's path in a home. */
export function controlSocketPath(home: string): string {
  return path.join(home, 'wizard.sock');
}

/**
 * How long the daemon holds its answer to `reload` for the folders the new
 * config stops to finish stopping; past it, it answers `stopping: true`.
 */
export const RELOAD_WAIT_MS = 20_000;

/** The daemon's answer to `reload`: `stopping` while a folder it stopped still finishes its work. */
export interface ReloadAnswer {
  readonly reloaded: true;
  readonly stopping?: true;
}

/** A command to the daemon. */
export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'reload' }
  | { cmd: 'stop' }
  | { cmd: 'resume'; folder: string }
  | { cmd: 'why'; folder: string; path: string }
  | { cmd: 'invite'; folders: string[]; address?: string; lan?: boolean; ttlMs: number }
  | { cmd: 'revoke'; id: string }
  | { cmd: 'override' | 'revert'; folder: string }
  | { cmd: 'accept-peer'; id: string }
  | { cmd: 'lan-lookup'; name: string }
  | { cmd: 'gui-login' };

/** Answers control commands; returns the JSON-serialisable result. */
export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

/** Largest request line accepted: commands are tiny, anything bigger is not ours. */
const MAX_REQUEST_BYTES = 64 * 1024;

/** A running control socket server. */
export interface ControlServer {
  close(): Promise<void>;
  /** Registers a listener for a failure of the listening socket after it started (the supervisor restarts it). */
  onError(listener: (err: Error) => void): void;
}

/** Serves the control socket at `socketPath`. A stale socket file from a crashed daemon is replaced. */
export async function serveControl(socketPath: string, handle: ControlHandler): Promise<ControlServer> {
  if (await isDaemonListening(socketPath)) {
    throw new WizardError('CONFIG', `another Wizard daemon is already running with this home (${socketPath}); stop it first`);
  }
  await rm(socketPath, { force: true });
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      const line = buffered.slice(0, nl);
      buffered = '';
      void answer(line, handle).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });
  // umask-independent: the socket must never be reachable by other users, even for the moment before chmod.
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  await chmod(socketPath, 0o600);
  return {
    onError: (listener) => server.on('error', listener),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        void rm(socketPath, { force: true });
      }),
  };
}

async function answer(line: string, handle: ControlHandler): Promise<unknown> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  const parsed = parseRequest(req);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  try {
    return { ok: true, result: await handle(parsed) };
  } catch (err) {
    // The code travels too, so a command's usage error stays one (exit 2) on the far side of the socket.
    const code = err instanceof WizardError && (err.code === 'USAGE' || err.code === 'CONFIG') ? err.code : undefined;
    return { ok: false, error: describeError(err), ...(code === undefined ? {} : { code }) };
  }
}

/** The request, or what is wrong with it. */
function parseRequest(req: unknown): ControlRequest | string {
  const r = (req ?? {}) as { cmd?: unknown; folder?: unknown; path?: unknown; id?: unknown };
  if (r.cmd === 'status' || r.cmd === 'reload' || r.cmd === 'stop' || r.cmd === 'gui-login') return { cmd: r.cmd };
  if (r.cmd === 'why') {
    if (typeof r.folder !== 'string' || typeof r.path !== 'string') return "'why' needs folder and path";
    return { cmd: 'why', folder: r.folder, path: r.path };
  }
  if (r.cmd === 'invite') {
    const q = req as { folders?: unknown; address?: unknown; lan?: unknown; ttlMs?: unknown };
    if (!Array.isArray(q.folders) || !q.folders.every((f) => typeof f === 'string')) return "'invite' needs folders";
    if (typeof q.ttlMs !== 'number' || !Number.isSafeInteger(q.ttlMs) || q.ttlMs <= 0) return "'invite' needs ttlMs";
    if (q.address !== undefined && typeof q.address !== 'string') return "'invite' address must be a string";
    if (q.lan !== undefined && typeof q.lan !== 'boolean') return "'invite' lan must be true or false";
    return { cmd: 'invite', folders: q.folders, ttlMs: q.ttlMs, ...(q.address === undefined ? {} : { address: q.address }), ...(q.lan === true ? { lan: true } : {}) };
  }
  if (r.cmd === 'revoke') {
    const id = (req as { id?: unknown }).id;
    if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) return "'revoke' needs a node ID";
    return { cmd: 'revoke', id };
  }
  if (r.cmd === 'resume' || r.cmd === 'override' || r.cmd === 'revert') {
    if (typeof r.folder !== 'string') return `'${r.cmd}' needs a folder`;
    return { cmd: r.cmd, folder: r.folder };
  }
  if (r.cmd === 'accept-peer') {
    if (typeof r.id !== 'string') return "'accept-peer' needs an id";
    return { cmd: 'accept-peer', id: r.id };
  }
  if (r.cmd === 'lan-lookup') {
    const name = (req as { name?: unknown }).name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) return "'lan-lookup' needs a name";
    return { cmd: 'lan-lookup', name };
  }
  return `unknown command ${JSON.stringify(r.cmd)}`;
}

/** Sends one command to the daemon of `home` and returns its result. Throws NOT_RUNNING when none listens. */
export async function controlRequest(home: string, req: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  const socketPath = controlSocketPath(home);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(socketPath);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WizardError('TIMEOUT', `the daemon at ${home} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new WizardError('NOT_RUNNING', `no Wizard daemon is running with home ${home}; start it with 'wizard start --home ${home}'`));
      } else reject(err);
    });
  });
  const parsed = JSON.parse(reply) as { ok: boolean; result?: unknown; error?: string; code?: string };
  if (!parsed.ok) {
    if (parsed.code === 'USAGE' || parsed.code === 'CONFIG') throw new WizardError(parsed.code, parsed.error ?? 'unknown error');
    throw new WizardError('INTERNAL', `daemon: ${parsed.error ?? 'unknown error'}`);
  }
  return parsed.result;
}

/** True when a daemon answers on the socket. */
async function isDaemonListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
