#!/usr/bin/env node
/**
 * The floor of BURST and MIXED on this machine: how soon the least a
 * real-time, durable sync must do can be done. Not a benchmark of Wizard:
 * the ground its targets stand on (docs/BENCHMARKS.md, "The floor of BURST
 * and MIXED").
 *
 *   node bench/probes/sync-floor.mjs [--reps N] [--mixed] [--no-fsync]
 *
 * In a bench run, `--vs floor` runs the same two processes (bench/drivers/floor.mjs).
 *
 * Two processes on loopback, as the bench runs two daemons:
 * - the sender watches A (@parcel/watcher, as Wizard does) and, for each file
 *   it reports, reads it, hashes it (SHA-256: the receiver must be able to
 *   verify) and pushes path, mode, mtime, hash and bytes over one TLS socket;
 * - the receiver verifies each file's hash and lands it as any crash-safe
 *   sync must: a temp file, written and fsynced, renamed into place, and the
 *   dir fsynced before the file counts as arrived.
 * SMALL (in a bench run's `--vs floor` only): the sender starts with A
 * already holding the template and sends all of it, a dir at a time, then
 * watches; timed from the sender's start to the last file on B.
 * Nothing else: no index, no versions, no requests, no acknowledgements,
 * no scans, no ignore rules. Every one of those costs Wizard something; this
 * costs only what no sync can skip.
 *
 * BURST: the bench's own writer (gen.mjs burst: 2,000 files of 1-8 KiB) is
 * started at t0; printed are when the writer ended and when the last file
 * had arrived on B. MIXED (--mixed): as the bench does, `cp` of a 1 GiB file
 * and `cp` of 100 files of 1-8 KiB to A at t0; only the small files are sent
 * (a lower bound: the big file's transfer would only add work); printed are
 * when the small files' cp ended, and their first, p50 and max arrival after
 * t0. Like the bench, it keeps every rep's files until it ends, and waits out
 * the last run's deletions first (bench/lib/deleted-inodes.mjs). --no-fsync
 * drops the receiver's fsyncs (not crash-safe: shows what durability costs).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fsync, futimesSync, lstatSync, mkdirSync, open, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { floorCertificate, startFloorPair } from '../lib/floor-pair.mjs';
import { waitFor } from '../lib/proc.mjs';
import { profileFor } from '../lib/profile.mjs';
import { median } from '../lib/stats.mjs';
import { noteDeletions, retireRunDir, waitOutDeletions } from '../lib/deleted-inodes.mjs';
import { treeDigest } from '../lib/treehash.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const genScript = path.join(here, '..', 'lib', 'gen.mjs');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);

/** Files the bench's writer makes for BURST (gen.mjs, full profile). */
const BURST_FILES = profileFor(false).burst.files;
/** Larger files are not sent (MIXED's big file): the floor is the small files'. */
const SEND_MAX_BYTES = 1024 * 1024;
/** Files the receiver lands at once (Wizard's landing concurrency for small files is of this order). */
const LANDING_CONCURRENCY = 64;

// ---- wire: [u32 header length][header JSON][u32 body length][body] ----
function frame(header, body) {
  const h = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(8 + h.length + body.length);
  out.writeUInt32BE(h.length, 0);
  h.copy(out, 4);
  out.writeUInt32BE(body.length, 4 + h.length);
  body.copy(out, 8 + h.length);
  return out;
}

function* unframe(state, chunk) {
  state.buf = state.buf.length === 0 ? chunk : Buffer.concat([state.buf, chunk]);
  for (;;) {
    if (state.buf.length < 4) return;
    const hl = state.buf.readUInt32BE(0);
    if (state.buf.length < 8 + hl) return;
    const bl = state.buf.readUInt32BE(4 + hl);
    if (state.buf.length < 8 + hl + bl) return;
    const header = JSON.parse(state.buf.subarray(4, 4 + hl).toString());
    const body = state.buf.subarray(8 + hl, 8 + hl + bl);
    state.buf = state.buf.subarray(8 + hl + bl);
    yield { header, body };
  }
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const fsyncFd = (fd) => new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
const openNew = (file) => new Promise((resolve, reject) => open(file, 'wx', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
const fsyncDirNow = (dir) =>
  new Promise((resolve, reject) =>
    open(dir, 'r', (err, fd) => {
      if (err) return reject(err);
      fsync(fd, (e) => {
        closeSync(fd);
        return e ? reject(e) : resolve();
      });
    }),
  );

// ---- receiver ----
async function receiver(dirB, certDir, durable) {
  const landedAt = {};
  const knownDirs = new Set();
  // One dir fsync at a time per dir; renames made while one runs wait for the next.
  const dirSync = new Map();
  const syncDir = (dir) => {
    let s = dirSync.get(dir);
    if (s === undefined) {
      s = { running: null, next: null };
      dirSync.set(dir, s);
    }
    if (s.next !== null) return s.next;
    const start = () => {
      s.running = fsyncDirNow(dir).finally(() => {
        s.running = null;
      });
      return s.running;
    };
    if (s.running === null) return start();
    s.next = s.running.then(() => {
      s.next = null;
      return start();
    });
    return s.next;
  };
  const queue = [];
  let active = 0;
  let temps = 0;
  const land = async ({ header, body }) => {
    if (sha256(body) !== header.hash) throw new Error(`${header.path}: hash mismatch`);
    const target = path.join(dirB, header.path);
    const dir = path.dirname(target);
    if (!knownDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      knownDirs.add(dir);
    }
    const temp = path.join(dir, `.floor-${path.basename(target)}-${++temps}.tmp`);
    const fd = await openNew(temp);
    try {
      writeSync(fd, body);
      fchmodSync(fd, header.mode & 0o777);
      futimesSync(fd, new Date(), new Date(header.mtimeMs));
      if (durable) await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
    if (durable) await syncDir(dir);
    landedAt[header.path] = Date.now();
  };
  // Landings of one path run in order (a file sent while being written is sent again whole).
  const tails = new Map();
  const landInOrder = (msg) => {
    const p = msg.header.path;
    const run = (tails.get(p) ?? Promise.resolve()).then(() => land(msg));
    tails.set(p, run);
    return run;
  };
  const pump = () => {
    while (active < LANDING_CONCURRENCY && queue.length > 0) {
      active++;
      landInOrder(queue.shift())
        .catch((err) => {
          console.error(`receiver: ${err.message}`);
          process.exit(1);
        })
        .finally(() => {
          active--;
          pump();
        });
    }
  };
  const server = tls.createServer({ key: readFileSync(path.join(certDir, 'key.pem')), cert: readFileSync(path.join(certDir, 'cert.pem')) }, (socket) => {
    const state = { buf: Buffer.alloc(0) };
    socket.on('data', (chunk) => {
      for (const msg of unframe(state, chunk)) {
        queue.push({ header: msg.header, body: Buffer.from(msg.body) });
      }
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
  process.on('message', (m) => {
    if (m === 'report') process.send({ landedAt });
    // A poll for how many have landed (under a prefix), without sending every path and time each time.
    else if (typeof m?.count === 'string') process.send({ count: Object.keys(landedAt).filter((p) => p.startsWith(m.count)).length });
  });
}

// ---- sender ----
async function sender(dirA, port, walk) {
  const { subscribe } = await import('@parcel/watcher');
  const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  // What was sent of each path (size and mtime): an event for a file that has not changed since is not sent again.
  const sent = new Map();
  const look = (abs) => {
    let st;
    try {
      st = lstatSync(abs);
      if (st.isDirectory()) {
        // Files written into a new dir before the watch on it began have no events of their own (Wizard walks such a dir too).
        for (const name of readdirSync(abs)) look(path.join(abs, name));
        return;
      }
      if (!st.isFile() || st.size > SEND_MAX_BYTES) return;
      const seen = `${st.size}:${st.mtimeMs}`;
      if (sent.get(abs) === seen) return;
      const body = readFileSync(abs);
      sent.set(abs, seen);
      socket.write(frame({ path: path.relative(dirA, abs), mode: st.mode, mtimeMs: st.mtimeMs, hash: sha256(body) }, body));
    } catch {
      // gone again: nothing to send
    }
  };
  await subscribe(dirA, (err, events) => {
    if (err) return;
    for (const e of events) if (e.type !== 'delete') look(e.path);
  });
  // Its CPU so far (node's start, the watcher's load, the TLS handshake): a caller timing the sync alone subtracts it.
  console.log(JSON.stringify({ ready: true, cpu: process.cpuUsage() }));
  // SMALL: what is in A when the sender starts is sent too, a dir at a time, each dir's files as
  // they are listed, with the socket's backlog kept under 8 MiB (an initial sync's walk).
  if (walk) {
    const dirs = [dirA];
    while (dirs.length > 0) {
      const dir = dirs.shift();
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        const abs = path.join(dir, d.name);
        if (d.isDirectory()) dirs.push(abs);
        else look(abs);
      }
      if (socket.writableLength > 8 * 1024 * 1024) await new Promise((resolve) => socket.once('drain', resolve));
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

// ---- orchestrator ----
async function once(scratch, certDir, mixed, templates, rep) {
  const base = path.join(scratch, `rep-${rep}`);
  const dirA = path.join(base, 'A');
  const dirB = path.join(base, 'B');
  mkdirSync(dirA, { recursive: true });
  mkdirSync(dirB, { recursive: true });
  const pair = await startFloorPair({ dirA, dirB, certDir, durable: !flag('--no-fsync') });
  await new Promise((r) => setTimeout(r, 500));
  try {
    const t0 = Date.now();
    if (!mixed) {
      execFileSync(process.execPath, [genScript, 'burst', dirA, '--seed', '1'], { stdio: 'ignore' });
      const writerMs = Date.now() - t0;
      let landed = {};
      await waitFor(`all ${BURST_FILES} BURST files on B`, async () => Object.keys((landed = await pair.landed())).length >= BURST_FILES, 120_000, 20);
      const last = Math.max(...Object.values(landed)) - t0;
      if (treeDigest(dirB).digest !== treeDigest(dirA).digest) throw new Error('BURST: B differs from A');
      console.log(`BURST floor${flag('--no-fsync') ? ' without fsyncs' : ''} rep ${rep}: writer ended at ${writerMs} ms, last file arrived at ${last} ms`);
    } else {
      const small = readdirSync(templates.small).map((n) => path.join(templates.small, n));
      mkdirSync(path.join(dirA, 'small'));
      await new Promise((r) => setTimeout(r, 300));
      const copies = [
        new Promise((r) => spawn('cp', [templates.big, `${dirA}/`]).once('exit', r)),
        new Promise((r) => spawn('cp', ['-t', path.join(dirA, 'small'), ...small]).once('exit', () => r(Date.now() - t0))),
      ];
      let landed = {};
      await waitFor(`all ${small.length} MIXED small files on B`, async () => Object.keys((landed = await pair.landed())).filter((p) => p.startsWith('small/')).length >= small.length, 120_000, 20);
      const [, smallCopyMs] = await Promise.all(copies);
      if (treeDigest(path.join(dirB, 'small')).digest !== treeDigest(path.join(dirA, 'small')).digest) throw new Error('MIXED: B differs from A');
      const at = Object.entries(landed)
        .filter(([p]) => p.startsWith('small/'))
        .map(([, t]) => t - t0);
      console.log(`MIXED floor${flag('--no-fsync') ? ' without fsyncs' : ''} rep ${rep}: the small files' cp ended at ${smallCopyMs} ms; they arrived first ${Math.min(...at)} ms, p50 ${median(at)} ms, max ${Math.max(...at)} ms`);
    }
  } finally {
    pair.stop();
    retireRunDir(base);
  }
}

async function main() {
  const reps = Number(option('--reps', '3'));
  const mixed = flag('--mixed');
  // Under the bench's root, so that the bench and this probe wait out each other's deletions.
  const wzb = path.resolve(process.env.WZB ?? '/tmp/wzb-wizard');
  const scratch = path.join(wzb, `floor-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const certDir = floorCertificate(path.join(scratch, 'cert'));
    let templates;
    if (mixed) {
      templates = { small: path.join(scratch, 'tpl-small'), big: path.join(scratch, 'tpl-big', 'mixed-big.bin') };
      execFileSync(process.execPath, [genScript, 'mixedsmall', templates.small, '--seed', '1'], { stdio: 'ignore' });
      execFileSync(process.execPath, [genScript, 'mixedbig', path.dirname(templates.big), '--seed', '1'], { stdio: 'ignore' });
      execFileSync('sync');
    }
    await waitOutDeletions(wzb, (line) => console.log(line));
    for (let rep = 1; rep <= reps; rep++) await once(scratch, certDir, mixed, templates, rep);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    noteDeletions(wzb);
  }
}

if (argv[0] === '--role' && argv[1] === 'receiver') await receiver(argv[2], argv[3], argv[4] !== 'no-fsync');
else if (argv[0] === '--role' && argv[1] === 'sender') await sender(argv[2], Number(argv[3]), argv[4] === 'walk');
else await main();
