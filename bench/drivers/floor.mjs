// The durable floor as a system (`--vs floor`): for SMALL, BURST and MIXED's small files, the least
// a real-time, crash-safe sync must do on this machine, measured in the same run as the tools it
// bounds (issue 17 asks BURST to come within 1.5x of it; SMALL's and IDLE's floors say what their goals stand on). The work is bench/probes/sync-floor.mjs's
// (bench/lib/floor-pair.mjs starts it): a sender watching A with @parcel/watcher that hashes and
// pushes each reported file over one TLS socket, and a receiver that verifies it and lands it
// through a temp file, fsync, rename and dir fsync. No index, versions, requests or scans, so
// nothing else applies: every other workload is 'n/a', and so are its bytes on the wire.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { median } from '../lib/stats.mjs';
import { floorCertificate, startFloorPair } from '../lib/floor-pair.mjs';
import { place, runOk, sleep, waitFor } from '../lib/proc.mjs';
import { treeDigest } from '../lib/treehash.mjs';
import { COMPRESS_CASES } from '../lib/args.mjs';
import { freshDir, guardedGroup, record } from './common.mjs';

const probes = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'probes');
const walkFloor = path.join(probes, 'walk-floor.mjs');
const idleFloor = path.join(probes, 'idle-floor.mjs');

/** Creates the floor driver. */
export function createFloorDriver(ctx) {
  const { profile, tpl, log } = ctx;
  const scratch = path.join(ctx.scratch, 'floor');
  const ID = 'floor';
  let certDir;
  let pair;

  /**
   * Waits until `count` paths under `prefix` have landed on B; resolves their arrival times after `t0`.
   * The polls ask for a count and the times come once at the end: the receiver's CPU is measured.
   */
  async function arrivals(prefix, count, t0, onAllLanded = () => {}) {
    await waitFor(`${count} files under B/${prefix}`, async () => (await pair.landedCount(prefix)) >= count, profile.syncTimeoutMs, 20);
    onAllLanded();
    return Object.entries(await pair.landed())
      .filter(([p]) => p.startsWith(prefix))
      .map(([, t]) => t - t0);
  }

  const notApplicable = (group, rep) => {
    const workloads = group.name === 'LAT' ? ['LAT-rename', 'LAT-overwrite'] : group.name === 'COMPRESS' ? COMPRESS_CASES : group.workloads;
    return workloads.map((w) => record(ID, w, rep, 'n/a'));
  };

  /**
   * SMALL as the Wizard driver times it: A holds the template before its side starts, and the time
   * runs from that start (here the sender's process) until B holds every file. B is up already.
   * Not BIG: one file sent in order by one thread is not the least time a big file can take
   * (Wizard's pipeline beat it), so its floor is big-floor.mjs's parts, measured apart.
   */
  async function initialSync(group, rep) {
    return inRunDir(group, rep, async (out, A, B) => {
      await place(tpl.dir('small'), A);
      pair = await startFloorPair({ dirA: A, dirB: B, certDir, walk: true });
      let cpuUsed;
      const at = await arrivals('', profile.small.files, pair.senderAt, () => (cpuUsed = pair.cpu()));
      const same = treeDigest(B).digest === tpl.digest('small');
      out.push(same ? record(ID, 'SMALL', rep, 'ok', { ms: Math.max(...at), cpu_ms: cpuUsed.ms, cpu_sys_ms: cpuUsed.sysMs, wire_bytes: null }) : record(ID, 'SMALL', rep, 'failed', {}, 'B differs from A'));
      // IDLE after SMALL (once, as the other systems' IDLE): the floor of a node's memory at rest; anything else in the group is not the floor's.
      for (const w of group.workloads) {
        if (w === 'IDLE' && rep === 1 && ctx.workloads.includes('IDLE')) out.push(await idle(rep));
        else if (w !== 'SMALL' && w !== 'IDLE') out.push(record(ID, w, rep, 'n/a'));
      }
    });
  }

  /**
   * IDLE: what an idle node cannot be under on this runtime, the floor of the goal: `node`
   * with the daemon's memory settings and modules loaded, nothing started (bench/probes/idle-floor.mjs,
   * from the build being measured). Not a sync, so no CPU figure.
   */
  async function idle(rep) {
    const dist = ctx.wizardEntry === undefined ? path.join(ctx.repoRoot, 'dist') : path.join(path.dirname(ctx.wizardEntry), '..', 'dist');
    const { stdout } = await runOk(process.execPath, [idleFloor, '5', dist], { timeoutMs: 120_000 });
    const got = JSON.parse(stdout.trim().split('\n').at(-1));
    return record(ID, 'IDLE', rep, 'ok', { cpu_pct: null, rss_mib: got.rssMib, private_mib: got.privateMib, bare_node_rss_mib: got.bareRssMib });
  }

  /** Runs `body(out, A, B)` for one group's repetition in a fresh run dir, the pair stopped however it ends. */
  function inRunDir(group, rep, body) {
    const base = freshDir(scratch, `${group.name.toLowerCase()}-${rep}`);
    const stop = async () => {
      pair?.stop();
      pair = undefined;
    };
    const guard = { system: ID, group, rep, base, logDir: ctx.logDir, keepRunDirs: ctx.keepRunDirs, log, stop };
    return guardedGroup(guard, (out) => body(out, path.join(base, 'A'), path.join(base, 'B')));
  }

  /**
   * SCALE: the least a first index and a no-change rescan must do, in one thread with no index
   * (bench/probes/walk-floor.mjs over the template): a walk that lstats every entry, and the same
   * walk reading and hashing every file. Not a sync: no second node, no index writes.
   */
  async function scan(group, rep) {
    const { stdout } = await runOk(process.execPath, [walkFloor, tpl.dir('scale')], { timeoutMs: 600_000 });
    const wallOf = (label) => Number(new RegExp(`^${label}: .* (\\d+) ms wall`, 'm').exec(stdout)?.[1]);
    const rescan = wallOf('walk \\+ lstat');
    const index = wallOf('walk \\+ lstat \\+ read \\+ SHA-256');
    if (!Number.isFinite(rescan) || !Number.isFinite(index)) return [record(ID, group.name, rep, 'failed', {}, `walk-floor.mjs printed no times: ${stdout.slice(0, 200)}`)];
    return [record(ID, 'SCALE', rep, 'ok', { index_ms: index, rescan_ms: rescan, rss_mib: null, peak_rss_mib: null })];
  }

  async function runGroup(group, rep) {
    if (group.name === 'SCALE') return scan(group, rep);
    if (group.name === 'SMALL') return initialSync(group, rep);
    if (group.name !== 'BURST' && group.name !== 'MIXED') return notApplicable(group, rep);
    return inRunDir(group, rep, async (out, A, B) => {
      pair = await startFloorPair({ dirA: A, dirB: B, certDir });
      await sleep(profile.settleMs);
      if (group.name === 'BURST') {
        const t0 = Date.now();
        await ctx.spawnBurst(A);
        const at = await arrivals('', profile.burst.files, t0);
        const same = treeDigest(B).digest === tpl.digest('burst');
        out.push(same ? record(ID, 'BURST', rep, 'ok', { ms: Math.max(...at), wire_bytes: null }) : record(ID, 'BURST', rep, 'failed', {}, 'B differs from A'));
        return;
      }
      // MIXED, as the Wizard driver runs it: a 1 GiB file and the small files copied to A at once.
      // Only the small files are sent (the floor of their arrival; the big file's transfer would only add work).
      const smallTpl = tpl.dir('mixedsmall');
      const smallFiles = fs.readdirSync(smallTpl).map((n) => path.join(smallTpl, n));
      fs.mkdirSync(path.join(A, 'small'));
      await sleep(profile.settleMs);
      const t0 = Date.now();
      const copies = [runOk('cp', [path.join(tpl.dir('mixedbig'), 'mixed-big.bin'), `${A}/`], { timeoutMs: 600_000 }), runOk('cp', ['-t', path.join(A, 'small'), ...smallFiles])];
      const at = await arrivals('small/', smallFiles.length, t0);
      await Promise.all(copies);
      const same = treeDigest(path.join(B, 'small')).digest === treeDigest(smallTpl).digest;
      out.push(
        same
          ? record(ID, 'MIXED', rep, 'ok', { small_first_ms: Math.min(...at), small_p50_ms: median(at), small_max_ms: Math.max(...at), big_ms: null })
          : record(ID, 'MIXED', rep, 'failed', {}, 'the small files on B differ from A'),
      );
    });
  }

  return {
    id: ID,
    label: 'durable floor',
    config: 'bench/probes/sync-floor.mjs: a watcher and one TLS socket, each file hashed, verified, written to a temp file, fsynced, renamed and its dir fsynced; SMALL (what A holds, sent at the start), BURST and MIXED (small files only), nothing else; SCALE: bench/probes/walk-floor.mjs, one thread and no index; IDLE: bench/probes/idle-floor.mjs, node with the daemon\'s settings and modules loaded, nothing started',
    supports: () => true,
    async prepare() {
      certDir = floorCertificate(path.join(scratch, 'cert'));
      return 'durable floor: bench/probes/sync-floor.mjs';
    },
    runGroup,
    async cleanup() {
      pair?.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
