// Child processes, /proc sampling and small waits. Every child started through `spawnTracked`
// is remembered so an interrupted run can stop exactly the processes it started.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

const tracked = new Set();

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until it returns a truthy value (returned); throws after `timeoutMs`, naming `what`. */
export async function waitFor(what, check, timeoutMs = 30_000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last.message ?? last})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Starts a long-running child whose stdout and stderr go to `logFile`; it is stopped by `stopAll` if the run is interrupted. */
export function spawnTracked(cmd, args, { logFile, env, cwd } = {}) {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env, cwd });
  fs.closeSync(fd);
  tracked.add(child);
  child.exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      tracked.delete(child);
      resolve(code ?? signal);
    });
    child.once('error', (err) => {
      tracked.delete(child);
      resolve(`error: ${err.message}`);
    });
  });
  return child;
}

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`; resolves with its exit code or signal. */
export async function stopChild(child, timeoutMs = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? child?.signalCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await child.exitPromise;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every tracked child still running, and their own children (Syncthing's workers), on SIGINT and fatal errors. */
export function stopAll() {
  for (const child of tracked) {
    for (const pid of [...childPids(child.pid), child.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Runs a command to completion: { code, stdout, stderr }; never rejects on a non-zero exit. */
export function run(cmd, args, { timeoutMs = 120_000, env, cwd, maxBuffer = 64 * 1024 * 1024 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: env ?? process.env, cwd, maxBuffer, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
    });
  });
}

/** Like `run` but throws (one line, with the command's last stderr line) on a non-zero exit. */
export async function runOk(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    // tsc and rsync print their errors on stdout, most tools on stderr.
    const lastLine = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop();
    const last = lastLine(r.stderr) ?? lastLine(r.stdout) ?? 'no output';
    throw new Error(`${cmd} ${args[0] ?? ''} failed (exit ${r.code}): ${last}`);
  }
  return r;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Copies a template tree into `dst` (cp -a keeps mtimes) and syncs, so every system starts from the same disk state. */
export async function place(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  await runOk('cp', ['-a', `${src}/.`, `${dst}/`], { timeoutMs: 600_000 });
  await runOk('sync', [], { timeoutMs: 600_000 });
}

const CLK_TCK = 100; // USER_HZ is 100 on every Linux ABI node runs on

/** utime and stime of a process in clock ticks, or zeros if it is gone. */
export function cpuTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]), sys: Number(f[12]) }; // fields 14 and 15 of proc(5)
  } catch {
    return { user: 0, sys: 0 };
  }
}

/**
 * CPU time (every thread) that `pids` spend from now: returns a function that gives the
 * milliseconds spent so far, user and system together (`ms`) and the system's part (`sysMs`:
 * the kernel's work for them, file creation and fsync most of it). A process gone by then counts
 * nothing (/proc has no figures for it), so read it while the processes still run.
 */
export function cpuMeter(pids) {
  const before = pids.map(cpuTicks);
  return () => {
    let user = 0;
    let sys = 0;
    pids.forEach((pid, i) => {
      const now = cpuTicks(pid);
      // A pid gone (zeros) counts nothing rather than a negative.
      user += Math.max(0, now.user - before[i].user);
      sys += Math.max(0, now.sys - before[i].sys);
    });
    return { ms: (user + sys) * (1000 / CLK_TCK), sysMs: sys * (1000 / CLK_TCK) };
  };
}

/** A /proc/PID/status field in KiB (VmRSS, VmHWM), or 0 if the process is gone. */
export function statusKib(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A /proc/PID/smaps_rollup field in KiB (Pss, Private_Dirty), or 0 if the process is gone. */
export function rollupKib(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PIDs whose parent is `pid`. */
export function childPids(pid) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * CPU (% of one core) and RSS (MiB) of each named group of PIDs over one shared window.
 * A group is one node of a system (Syncthing: its monitor plus worker), summed.
 */
export async function sampleGroups(groups, windowMs) {
  const meters = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, cpuMeter(pids)]));
  await sleep(windowMs);
  const out = {};
  for (const [k, pids] of Object.entries(groups)) {
    out[k] = {
      cpu_pct: (meters[k]().ms / windowMs) * 100,
      rss_mib: pids.reduce((s, p) => s + statusKib(p, 'VmRSS'), 0) / 1024,
      // Not in the table: RSS counts the pages a node's processes share (a binary's code) once per
      // process; private memory is what only this node holds, PSS shares the rest among its users.
      private_mib: pids.reduce((s, p) => s + rollupKib(p, 'Private_Clean') + rollupKib(p, 'Private_Dirty'), 0) / 1024,
      pss_mib: pids.reduce((s, p) => s + rollupKib(p, 'Pss'), 0) / 1024,
    };
  }
  return out;
}

/** One line describing this machine, for the results header. */
export function machineDescription() {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  cpu = cpu.replace(/\s+/g, ' ').trim();
  let distro = os.type();
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // not Linux-like
  }
  const ram = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${os.cpus().length} vCPU ${cpu}, ${ram} GiB RAM, ${distro}, kernel ${os.release()}, node ${process.version}`;
}
