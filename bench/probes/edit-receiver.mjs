#!/usr/bin/env node
/**
 * The receiver's side of EDIT, in process (docs/DELTA.md, "Patching in place"): a 512 MiB
 * random file with stored block sums, and applyTake pulling a version with 4 KiB changed at its
 * middle from an in-memory peer; patched in place, or with `temp` through a temp file (the file
 * gets mode 0755, which rules out a patch in place). Prints the time, whether the inode stayed,
 * the block bytes fetched, `du -sb .wizard` afterwards and the load average; the CPU time of
 * the pull (the peer answers sums at the file's block size from sums made before the clock
 * starts, as a sender answers from its index). Not a benchmark of
 * the whole sync (no sender, no network): see `npm run bench` for that.
 *
 *   npx tsc -p tsconfig.build.json && node bench/probes/edit-receiver.mjs "$PWD" [temp]
 *   SIZE_MIB=4096 node bench/probes/edit-receiver.mjs "$PWD"   # another size (needs 2x it in RAM)
 */
import { randomFillSync } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const { inlineRunner } = await import(`${W}/dist/workers/pool.js`);
const { blockCount, groupDigests, signatureOf, sliceSignature } = await import(`${W}/dist/delta/signature.js`);
const MiB = 1 << 20;
const size = Number(process.env.SIZE_MIB ?? 512) * MiB;
const mode = process.argv[3] === 'temp' ? 0o755 : 0o644;
const root = mkdtempSync(path.join(os.tmpdir(), 'wzb-edit-receiver-'));
mkdirSync(path.join(root, '.wizard'));
const old = Buffer.allocUnsafe(size);
for (let i = 0; i < size; i += 64 * MiB) randomFillSync(old, i, Math.min(64 * MiB, size - i));
const next = Buffer.from(old);
randomFillSync(next, size / 2, 4096);
const { contentHash, LeafHasher } = await import(`${W}/dist/core/content-hash.js`);
const sha = (b) => contentHash(b);
/** Stored sums as the daemon keeps them: with the file's leaf digests. */
const withLeaves = (b) => { const l = new LeafHasher(); l.push(b); return { ...signatureOf(b), leaves: l.finish() }; };
writeFileSync(path.join(root, 'big'), old, { mode });
chmodSync(path.join(root, 'big'), mode);
const store = IndexStore.open(':memory:');
const st = lstatSync(path.join(root, 'big'));
store.commitLocal('f', [{ path: 'big', type: 'file', size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: sha(old), target: '', version: { me: 1 }, deleted: false, inode: st.ino }]);
store.sums.put('f', 'big', sha(old), withLeaves(old));
let blockBytes = 0;
const served = { big: next };
const nextSums = signatureOf(next);
const peer = {
  readBlock: async (_p, req) => { const d = served.big.subarray(req.offset, req.offset + req.length); blockBytes += d.length; return Buffer.from(d); },
  readSums: async (_p, req) => {
    const data = served.big;
    const end = Math.min(blockCount(data.length, req.blockSize), req.first + req.count);
    // At the file's own block size from sums made before the clock starts, as a sender answers from its index.
    const sig = req.blockSize === nextSums.blockSize ? sliceSignature(nextSums, req.first, end - req.first) : signatureOf(data.subarray(req.first * req.blockSize, end * req.blockSize), req.blockSize);
    const base = { fileSize: data.length, blockSize: req.blockSize, first: req.first, group: req.group };
    if (req.group > 1) return { ...base, weak: Buffer.alloc(0), strong: Buffer.from(groupDigests(sig.strong, req.group)) };
    const weak = Buffer.alloc(sig.weak.length * 4);
    sig.weak.forEach((w, i) => weak.writeUInt32BE(w, i * 4));
    return { ...base, weak, strong: Buffer.from(sig.strong) };
  },
};
const lock = new Mutex();
const commit = (entries) => void store.commitLocal('f', entries);
const ctx = {
  root, umask: 0o022, trash: new Trash(root, systemClock), ...peer, runner: inlineRunner,
  commitSums: (rel, hash, sums) => store.sums.put('f', rel, hash, sums),
  storedSums: (rel, hash) => store.sums.get('f', rel, hash),
  getLocal: (rel) => store.getLocal('f', rel),
  locked: (fn) => lock.run(fn), commit,
  landing: new GroupCommit({ locked: (fn) => lock.run(fn), commit, atomically: (fn) => store.atomically(fn) }),
};
execSync('sync');
const entry = { path: 'big', type: 'file', size, mtimeMs: 1_700_000_000_000, mode, hash: sha(next), target: '', version: { me: 1, p: 1 }, deleted: false, sequence: 1 };
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await applyTake(ctx, entry, entry.version, ['peer']);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const ino = lstatSync(path.join(root, 'big')).ino;
const du = execSync(`du -sb ${path.join(root, '.wizard')}`).toString().split('\t')[0];
console.log(JSON.stringify({ path: mode === 0o755 ? 'temp file' : 'in place', ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), sameInode: ino === st.ino, blockBytes, wizardDirBytes: Number(du), load: os.loadavg()[0].toFixed(2) }));
rmSync(root, { recursive: true, force: true });
