#!/usr/bin/env node
/**
 * Both sides of SHIFT, in process (docs/DELTA.md, "SHIFT (issue 18, last goal)"): a 64 MiB
 * random file with stored sums, then the version with 100 bytes inserted at offset 0. The
 * sender's side is `hashFile` of the new version with the old version's sums as prior (what its
 * rescan does), on a pool of two worker threads; the receiver's is `applyTake` pulling that
 * version from an in-memory peer that answers from the sender's sums (as a sender answers from
 * its index), on its own pool of two, through a temp file, fdatasync and rename. Each line: wall
 * and CPU time (this process, worker threads included) per side, the block bytes fetched, the
 * load average. Then the floor in the same sitting: one read and SHA-256 of the file, and one
 * write and fdatasync of it. Not a benchmark of the whole sync (no network, no watcher): see
 * `npm run bench` for that.
 *
 *   npx tsc -p tsconfig.build.json && node bench/probes/shift-sides.mjs "$PWD"
 *   REPS=5 SIZE_MIB=64 node bench/probes/shift-sides.mjs "$PWD"
 */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, fdatasyncSync, lstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { execSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
const W = process.argv[2];
const { IndexStore } = await import(`${W}/dist/index/store.js`);
const { applyTake } = await import(`${W}/dist/sync/pull/puller.js`);
const { GroupCommit } = await import(`${W}/dist/sync/pull/group-commit.js`);
const { Trash } = await import(`${W}/dist/sync/trash/trash.js`);
const { Mutex } = await import(`${W}/dist/core/mutex.js`);
const { systemClock } = await import(`${W}/dist/core/clock.js`);
const { WorkerPool } = await import(`${W}/dist/workers/pool.js`);
const { hashFile } = await import(`${W}/dist/workers/hash-file.js`);
const { statKey } = await import(`${W}/dist/index/hash.js`);
const { blockCount, groupDigests, signatureOf, sliceSignature } = await import(`${W}/dist/delta/signature.js`);
const MiB = 1 << 20;
const size = Number(process.env.SIZE_MIB ?? 64) * MiB;
const reps = Number(process.env.REPS ?? 3);
const load = () => os.loadavg()[0].toFixed(2);
const cpuMs = (c) => Math.round((c.user + c.system) / 1000);
const old = randomFillSync(Buffer.allocUnsafe(size));
const next = Buffer.concat([randomFillSync(Buffer.allocUnsafe(100)), old]);
const script = new URL(`file://${W}/dist/workers/worker.js`);
const senderPool = new WorkerPool(() => 2, { script });
const receiverPool = new WorkerPool(() => 2, { script });
const work = mkdtempSync(path.join(os.tmpdir(), 'wzb-shift-sides-'));

/** The sender: the old version's sums (its index), then the rescan of the new version. */
async function sender() {
  const file = path.join(work, 'sender-big');
  writeFileSync(file, old);
  const before = await hashFile(senderPool, file, statKey(lstatSync(file)));
  writeFileSync(file + '.tmp', next);
  execSync(`mv ${file}.tmp ${file}`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const got = await hashFile(senderPool, file, statKey(lstatSync(file)), before.sums);
  return { ms: performance.now() - t0, cpu: cpuMs(process.cpuUsage(c0)), got, oldHash: before.hash, oldSums: before.sums };
}

/** The receiver: our copy of the old version with its stored sums, pulling the new one. */
async function receiver(s) {
  const root = mkdtempSync(path.join(work, 'root-'));
  mkdirSync(path.join(root, '.wizard'));
  writeFileSync(path.join(root, 'big'), old);
  const st = lstatSync(path.join(root, 'big'));
  const store = IndexStore.open(':memory:');
  store.commitLocal('f', [{ path: 'big', type: 'file', size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: s.oldHash, target: '', version: { me: 1 }, deleted: false, inode: st.ino }]);
  store.sums.put('f', 'big', s.oldHash, s.oldSums);
  let blockBytes = 0;
  const sums = s.got.sums;
  const peer = {
    readBlock: async (_p, req) => { const d = next.subarray(req.offset, req.offset + req.length); blockBytes += d.length; return Buffer.from(d); },
    readSums: async (_p, req) => {
      const end = Math.min(blockCount(next.length, req.blockSize), req.first + req.count);
      // At the file's own block size from the stored sums; others (the 1 KiB refinement) computed, as a sender does.
      const sig = req.blockSize === sums.blockSize ? sliceSignature(sums, req.first, end - req.first) : signatureOf(next.subarray(req.first * req.blockSize, end * req.blockSize), req.blockSize);
      const base = { fileSize: next.length, blockSize: req.blockSize, first: req.first, group: req.group };
      if (req.group > 1) return { ...base, weak: Buffer.alloc(0), strong: Buffer.from(groupDigests(sig.strong, req.group)) };
      const weak = Buffer.alloc(sig.weak.length * 4);
      sig.weak.forEach((w, i) => weak.writeUInt32BE(w, i * 4));
      return { ...base, weak, strong: Buffer.from(sig.strong) };
    },
  };
  const lock = new Mutex();
  const commit = (entries) => void store.commitLocal('f', entries);
  const ctx = {
    root, umask: 0o022, trash: new Trash(root, systemClock), ...peer, runner: receiverPool,
    commitSums: (rel, hash, sums) => store.sums.put('f', rel, hash, sums),
    storedSums: (rel, hash) => store.sums.get('f', rel, hash),
    getLocal: (rel) => store.getLocal('f', rel),
    locked: (fn) => lock.run(fn), commit,
    landing: new GroupCommit({ locked: (fn) => lock.run(fn), commit, atomically: (fn) => store.atomically(fn) }),
  };
  execSync('sync');
  const entry = { path: 'big', type: 'file', size: next.length, mtimeMs: 1_700_000_000_000, mode: 0o644, hash: s.got.hash, target: '', version: { me: 1, p: 1 }, deleted: false, sequence: 1 };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await applyTake(ctx, entry, entry.version, ['peer']);
  const r = { ms: performance.now() - t0, cpu: cpuMs(process.cpuUsage(c0)), blockBytes, same: store.getLocal('f', 'big')?.hash === s.got.hash };
  store.close?.();
  rmSync(root, { recursive: true, force: true });
  return r;
}

for (let i = 0; i < reps; i++) {
  const l0 = load();
  const s = await sender();
  const r = await receiver(s);
  console.log(JSON.stringify({ senderMs: Math.round(s.ms), senderCpuMs: s.cpu, receiverMs: Math.round(r.ms), receiverCpuMs: r.cpu, blockBytes: r.blockBytes, landed: r.same, blockSize: s.got.sums?.blockSize, load: `${l0}-${load()}` }));
}
await senderPool.close();
await receiverPool.close();
// The floor, same sitting: one read + SHA-256 of the file on one thread, one write + fdatasync of it.
const file = path.join(work, 'floor');
writeFileSync(file, next);
const floor = { read: [], write: [] };
for (let i = 0; i < reps; i++) {
  let t = performance.now();
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(MiB);
  const f = openSync(file, 'r');
  for (let n; (n = readSync(f, buf)) > 0; ) h.update(buf.subarray(0, n));
  closeSync(f);
  h.digest();
  floor.read.push(Math.round(performance.now() - t));
  t = performance.now();
  const w = openSync(path.join(work, `w${i}`), 'w');
  for (let at = 0; at < next.length; at += 2 * MiB) writeSync(w, next, at, Math.min(2 * MiB, next.length - at), at);
  fdatasyncSync(w);
  closeSync(w);
  floor.write.push(Math.round(performance.now() - t));
}
console.log(JSON.stringify({ floorReadSha256Ms: floor.read, floorWriteFdatasyncMs: floor.write, load: load() }));
rmSync(work, { recursive: true, force: true });
