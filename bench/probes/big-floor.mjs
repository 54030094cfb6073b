#!/usr/bin/env node
/**
 * The floor of BIG on this machine (issue 17): what moving 512 MiB durably
 * between two processes costs at least, part by part, each alone:
 * - TLS on loopback: one process sends 512 MiB in 1 MiB writes over one TLS
 *   socket to another, which counts the bytes (the two daemons' link);
 * - read + SHA-256: the file read in 1 MiB pieces and hashed on one thread
 *   (the least a sender's scan and a receiver's check each do);
 * - write + fsync: 512 MiB written in 1 MiB pieces to a new file, then fsynced
 *   (what the receiver must do before the file counts as there).
 * Not a sum: on two cores, parts of different processes overlap. Prints each
 * time (best of REPS) in seconds and MiB/s, and the load average before and after.
 *
 *   node bench/probes/big-floor.mjs            # 512 MiB, 2 reps, under $WZB or /tmp
 *   SIZE_MIB=1024 REPS=3 node bench/probes/big-floor.mjs
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const MiB = 1 << 20;
const size = Number(process.env.SIZE_MIB ?? 512) * MiB;
const reps = Number(process.env.REPS ?? 2);
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--receiver') {
  // The receiving process: a TLS server that counts bytes and says when it has them all.
  const [certDir, expected] = [process.argv[3], Number(process.argv[4])];
  const server = tls.createServer({ key: readFileSync(path.join(certDir, 'key.pem')), cert: readFileSync(path.join(certDir, 'cert.pem')) }, (socket) => {
    let got = 0;
    socket.on('data', (d) => {
      got += d.length;
      if (got >= expected) {
        process.send?.('done');
        socket.end();
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
  process.on('message', (m) => m === 'exit' && process.exit(0));
} else {
  const base = process.env.WZB ?? os.tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, 'big-floor-'));
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const best = async (fn) => {
    let min = Infinity;
    for (let r = 0; r < reps; r++) min = Math.min(min, await fn());
    return min;
  };
  const line = (what, s) => console.log(`${what.padEnd(22)} ${s.toFixed(2)} s  ${(size / MiB / s).toFixed(0)} MiB/s`);
  try {
    console.log(`${size / MiB} MiB, best of ${reps}; load before ${load()}`);
    const chunk = randomFillSync(Buffer.alloc(MiB));

    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=floor', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    line('TLS loopback', await best(() => tlsOnce(dir, chunk)));

    const file = path.join(dir, 'big');
    const writeFsync = () => {
      rmSync(file, { force: true });
      const t0 = performance.now();
      const fd = openSync(file, 'w');
      for (let at = 0; at < size; at += MiB) writeSync(fd, chunk, 0, MiB, at);
      fsyncSync(fd);
      closeSync(fd);
      return (performance.now() - t0) / 1000;
    };
    line('write + fsync', await best(writeFsync));

    const readHash = () => {
      const t0 = performance.now();
      const fd = openSync(file, 'r');
      const buf = Buffer.allocUnsafe(MiB);
      const h = createHash('sha256');
      for (let at = 0; at < size; at += MiB) h.update(buf.subarray(0, readSync(fd, buf, 0, MiB, at)));
      h.digest();
      closeSync(fd);
      return (performance.now() - t0) / 1000;
    };
    line('read + SHA-256', await best(readHash));
    console.log(`load after ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One TLS transfer of `size` bytes to a receiving process; seconds from connect to its last byte counted. */
function tlsOnce(certDir, chunk) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--receiver', certDir, String(size)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let t0 = 0;
    child.on('error', reject);
    child.on('message', (m) => {
      if (m === 'done') {
        const s = (performance.now() - t0) / 1000;
        child.send('exit');
        resolve(s);
        return;
      }
      const socket = tls.connect({ port: m.port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
        t0 = performance.now();
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      socket.on('error', () => undefined);
    });
  });
}
