// The two processes of the durable floor (bench/probes/sync-floor.mjs has their code and says what
// they do and leave out): a receiver that lands every file it is pushed as a crash-safe sync must,
// and a sender that watches A and pushes each file it reports. Shared by the probe and by the
// bench's `floor` system (bench/drivers/floor.mjs), so both measure the same thing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMeter } from './proc.mjs';

const roles = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'probes', 'sync-floor.mjs');

/** A self-signed certificate for the floor's one TLS socket, in `dir` (key.pem, cert.pem). */
export function floorCertificate(dir) {
  mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=floor', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  return dir;
}

/** The first line `child` prints, as JSON. */
function firstLine(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`a floor process exited with ${code}`)));
  });
}

/**
 * Starts a receiver landing into `dirB` (fsyncing unless `durable` is false) and a sender watching
 * `dirA`, connected; with `walk`, the sender also sends what A holds when it starts. Resolves
 * { landed, landedCount, stop, senderAt, cpu } once the sender's watch is up: `landed()` resolves
 * with when each path arrived (epoch ms, by path relative to B); `landedCount(prefix)` with how many
 * paths under `prefix` have (a cheap poll); `stop()` ends both; `senderAt` is when the sender was
 * started (epoch ms), the start of an initial sync; `cpu()` is the CPU time both processes spent on
 * the sync (cpuMeter's { ms, sysMs }): the receiver's since the sender started, the sender's since
 * its watch was up (its start, the watcher's load and the TLS handshake left out, as a daemon's are).
 */
export async function startFloorPair({ dirA, dirB, certDir, durable = true, walk = false }) {
  mkdirSync(dirA, { recursive: true });
  mkdirSync(dirB, { recursive: true });
  const recv = spawn(process.execPath, [roles, '--role', 'receiver', dirB, certDir, durable ? 'fsync' : 'no-fsync'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const children = [recv];
  const stop = () => {
    for (const c of children) c.kill();
  };
  let senderAt = 0;
  let cpu;
  try {
    const { port } = await firstLine(recv);
    const recvCpu = cpuMeter([recv.pid]);
    senderAt = Date.now();
    const send = spawn(process.execPath, [roles, '--role', 'sender', dirA, String(port), ...(walk ? ['walk'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(send);
    // Read as it starts (its ticks are about 0 then); what it spent until its watch was up is taken off below.
    const sendCpu = cpuMeter([send.pid]);
    const ready = await firstLine(send);
    const bootMs = (ready.cpu.user + ready.cpu.system) / 1000;
    const bootSysMs = ready.cpu.system / 1000;
    cpu = () => {
      const [r, s] = [recvCpu(), sendCpu()];
      return { ms: r.ms + Math.max(0, s.ms - bootMs), sysMs: r.sysMs + Math.max(0, s.sysMs - bootSysMs) };
    };
  } catch (err) {
    stop();
    throw err;
  }
  /** Sends `ask` to the receiver and resolves with the first answer that has `field`; rejects if the receiver has ended or ends first. */
  const askReceiver = (ask, field) =>
    new Promise((resolve, reject) => {
      const done = () => {
        recv.off('message', answer);
        recv.off('exit', ended);
      };
      const answer = (m) => {
        if (m?.[field] === undefined) return;
        done();
        resolve(m[field]);
      };
      const ended = (code) => {
        done();
        reject(new Error(`the floor's receiver exited with ${code} before answering`));
      };
      if (recv.exitCode !== null || recv.signalCode !== null) return ended(recv.exitCode ?? recv.signalCode);
      recv.on('message', answer);
      recv.on('exit', ended);
      recv.send(ask, (err) => err && ended(err.message));
    });
  const landed = () => askReceiver('report', 'landedAt');
  const landedCount = (prefix) => askReceiver({ count: prefix }, 'count');
  return { landed, landedCount, stop, senderAt, cpu };
}
