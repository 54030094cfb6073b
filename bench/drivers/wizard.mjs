// Wizard driver: two real daemons (`wizard start`) on 127.0.0.1 with temp homes, the second
// initialised from the first one's CA and paired with `wizard pair`, one fresh pair per group.
//
// "Start of sync" for an initial sync is the unpause of A's folder, as in the Syncthing driver:
// the pair is set up with an empty folder, A's folder is paused (`wizard folder pause`), the
// template is copied into it, then the bench unpauses it as `wizard folder unpause` does (the
// config file without the `paused` line, then a reload over the control socket, so no CLI
// process starts inside the timed window). So the time includes A's scan and hashing, the link
// starting over with the folder, the index exchange and B's pull; not A's process start, which
// it included until the daemon could pause a folder (about 0.3 s: docs/BENCHMARKS.md). Live workloads start at the write on A. Bytes on the wire are B's counters for its
// peer A in `wizard status --json` (framed protocol bytes, sent + received; B runs throughout).
// IDLE samples both daemons' CPU and RSS after SMALL. SCALE is one node: index = daemon start
// until status shows the folder idle with every file; rescan = a full rescan with no change
// (triggered by an edit of the master ignore list), as the daemon times it (status fullScans).
// SCALE-1M is SCALE at 1,000,000 files in 10,000 dirs (Wizard alone), with its own timeouts.
// COMPRESS: per case, `limits.bandwidth.up` and `compression` are edited in both config files
// (B answers too) and applied by hot reload before the file is copied into A's folder.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generate } from '../lib/gen.mjs';
import { probeLatency } from '../lib/latprobe.mjs';
import { mixedExpectation, watchMixed } from '../lib/mixedwatch.mjs';
import { childPids, cpuMeter, freePort, place, runOk, sampleGroups, sleep, spawnTracked, statusKib, stopChild, waitFor } from '../lib/proc.mjs';
import { primeDigest, waitSync } from '../lib/waitsync.mjs';
import { compressPlan, compressRatio, freshDir, guardedGroup, lastLogLine, record } from './common.mjs';

/**
 * Status straight from the daemon's control socket (one JSON line each way), the same answer
 * `wizard status --json` prints. Used for polling: spawning the CLI every 50 ms would cost a
 * node start each time and disturb what is measured on a 2-core box.
 */
function controlStatus(home, timeoutMs = 10_000) {
  return controlRequest(home, { cmd: 'status' }, timeoutMs);
}

/** One request over the daemon's control socket (one JSON line each way); resolves with its result. */
function controlRequest(home, request, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(home, 'wizard.sock'));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${request.cmd} answer from ${home} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (d) => (data += d));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(data);
        if (reply.ok) resolve(reply.result);
        else reject(new Error(`daemon: ${reply.error}`));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Creates the Wizard driver. */
export function createWizardDriver(ctx) {
  const { profile, tpl, log, repoRoot } = ctx;
  // The CLI entry: a private build snapshot of src/ (see run.mjs) or, with --no-build, bin/wizard.js.
  const bin = ctx.wizardEntry ?? path.join(repoRoot, 'bin', 'wizard.js');
  const scratch = path.join(ctx.scratch, 'wizard');
  const ID = 'wizard';
  // WZB_NODE_ARGS: extra node flags for the daemons only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const daemonNodeArgs = (process.env.WZB_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const cli = (home, args, timeoutMs = 60_000) => runOk(process.execPath, [bin, '--home', home, ...args], { timeoutMs });
  const running = new Set();

  const logFileOf = (node) => path.join(process.env.WZB_LOG_DIR ?? node.base, `${node.name}.log`);
  const startDaemon = (node) => {
    // As a person's `wizard start` runs: the command itself, whose shell lines start node on it with
    // the memory settings (bin/wizard.js), one process. Node flags (WZB_NODE_ARGS) need node named on
    // the command line; the launcher then starts the daemon as its child with the settings and the flags.
    node.child =
      daemonNodeArgs.length === 0
        ? spawnTracked(bin, ['--home', node.home, 'start'], { logFile: logFileOf(node) })
        : spawnTracked(process.execPath, [...daemonNodeArgs, bin, '--home', node.home, 'start'], { logFile: logFileOf(node) });
    running.add(node);
    return node.child;
  };
  const stopDaemon = async (node) => {
    if (!node?.child) return;
    const code = await stopChild(node.child);
    running.delete(node);
    node.child = undefined;
    if (code !== 0) log(`wizard ${node.name} exited with ${code} (log: ${logFileOf(node)})`);
  };
  // A node's processes: with WZB_NODE_ARGS a node is the launcher and the daemon (above), both
  // counted, as Syncthing's are; otherwise it is one process.
  const pidsOf = (node) => [node.child.pid, ...childPids(node.child.pid)];
  const rssMib = (node, field = 'VmRSS') => pidsOf(node).reduce((sum, pid) => sum + statusKib(pid, field), 0) / 1024;
  const waitUp = (node, timeoutMs = 30_000) =>
    waitFor(`wizard ${node.name} to answer status`, () => controlStatus(node.home), timeoutMs, 25).catch((err) => {
      throw new Error(`${err.message}; its last log line: ${lastLogLine(logFileOf(node))}`);
    });

  async function initNode(base, name, folders, caFrom) {
    const port = await freePort();
    const node = { name, base, home: path.join(base, `h${name}`), port, folder: (id) => path.join(base, name, id) };
    const args = ['init', '--name', name, '--listen', `127.0.0.1:${port}`, '--json'];
    for (const f of folders) args.push('--folder', `${f}=${node.folder(f)}`);
    if (caFrom) args.push('--ca', path.join(caFrom.home, 'certs'));
    node.id = JSON.parse((await cli(node.home, args)).stdout).id;
    // WZB_LOG_LEVEL: the daemons' log level; with WZB_LOG_DIR their logs (A.log, B.log) go there and outlive the run.
    if (process.env.WZB_LOG_LEVEL) {
      const file = path.join(node.home, 'config.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^(\s+level:) \w+/m, `$1 ${process.env.WZB_LOG_LEVEL}`));
    }
    // WZB_COMPRESSION: the daemons' `compression` (none, lz4, zstd) instead of init's auto. With none, BIG times
    // the data path alone: under load the chooser compresses BIG in some runs and not others, which moves its
    // time by more than most changes to the data path do (docs/BENCHMARKS.md, "BIG since the afternoon").
    if (process.env.WZB_COMPRESSION) {
      const file = path.join(node.home, 'config.yaml');
      const text = fs.readFileSync(file, 'utf8');
      if (!/^compression: \w+/m.test(text)) throw new Error(`${file} has no compression line to edit`);
      fs.writeFileSync(file, text.replace(/^compression: \w+/m, `compression: ${process.env.WZB_COMPRESSION}`));
    }
    return node;
  }

  /** A and B, started, paired and connected, each with `folders` (empty). */
  async function startPair(base, folders) {
    const a = await initNode(base, 'A', folders);
    const b = await initNode(base, 'B', folders, a);
    const t0 = Date.now();
    startDaemon(a);
    startDaemon(b);
    await waitUp(a);
    const bootMs = Date.now() - t0;
    await waitUp(b);
    await cli(b.home, ['pair', `127.0.0.1:${a.port}`, '--json']);
    await waitConnected(a, b);
    return { a, b, bootMs };
  }

  const linked = async (x, y) => (await controlStatus(x.home)).peers.some((p) => p.id === y.id && p.connected);
  const waitConnected = (a, b, timeoutMs = 30_000) =>
    waitFor('wizard A and B to connect', async () => (await linked(a, b)) && (await linked(b, a)), timeoutMs, 50);

  /** B's protocol bytes to and from A, as `wizard status --json` reports them. */
  async function wireBytes(b, a) {
    const status = JSON.parse((await cli(b.home, ['status', '--json'])).stdout);
    const peer = status.peers.find((p) => p.id === a.id);
    if (!peer) throw new Error('B does not list A as a peer');
    return peer.bytesSent + peer.bytesReceived;
  }

  /** Initial sync of `template` into folder `id`: A's folder paused while the data is placed, timed from its unpause until B converged. */
  async function initialSync(pair, id, template, workload, rep) {
    const { a, b } = pair;
    const file = path.join(a.home, 'config.yaml');
    const unpaused = fs.readFileSync(file, 'utf8');
    await cli(a.home, ['folder', 'pause', id]);
    await waitFor(`wizard A/${id} to pause`, async () => (await controlStatus(a.home)).folders.find((f) => f.id === id)?.state === 'paused', 30_000, 50);
    await waitConnected(a, b);
    await place(tpl.dir(template), a.folder(id));
    const w0 = await wireBytes(b, a);
    const cpu = cpuMeter([...pidsOf(a), ...pidsOf(b)]);
    const t0 = Date.now();
    // What `wizard folder unpause` does, without a node process starting inside the timed window
    // (Syncthing's unpause is one REST call).
    fs.writeFileSync(file, unpaused);
    await controlRequest(a.home, { cmd: 'reload' });
    const r = await waitSync(b.folder(id), tpl.digest(template), t0, { timeoutMs: profile.syncTimeoutMs });
    const cpuUsed = cpu();
    if (!r.ok) return record(ID, workload, rep, 'timeout', {}, `B did not converge within ${Math.round(r.ms / 1000)} s`);
    await sleep(profile.afterSyncMs);
    return record(ID, workload, rep, 'ok', { ms: r.ms, cpu_ms: cpuUsed.ms, cpu_sys_ms: cpuUsed.sysMs, wire_bytes: (await wireBytes(b, a)) - w0 });
  }

  /** A live change on A (`mutate`), timed from the write (with `afterWrite`, from its end) until B holds `expected`. */
  async function liveChange(pair, id, expected, workload, rep, mutate, { afterWrite = false } = {}) {
    const { a, b } = pair;
    await sleep(profile.settleMs);
    const w0 = await wireBytes(b, a);
    const cache = primeDigest(b.folder(id));
    const start = Date.now();
    const done = mutate();
    // A file rewritten by the generator (EDIT, SHIFT, EDIT-4G) is timed from the moment its write returned,
    // when the new version exists on A, as rsync is run only after it: SHIFT's 64 MiB temp file took
    // 0.3 s to write at load 7. BURST and COMPRESS time their writes, which are the workload.
    const t0 = afterWrite ? Date.now() : start;
    const r = await waitSync(b.folder(id), expected, t0, { timeoutMs: profile.syncTimeoutMs, cache });
    await done;
    if (!r.ok) return record(ID, workload, rep, 'timeout', {}, `B did not converge within ${Math.round(r.ms / 1000)} s`);
    await sleep(profile.afterSyncMs);
    return record(ID, workload, rep, 'ok', { ms: r.ms, wire_bytes: (await wireBytes(b, a)) - w0 });
  }

  async function runLat(pair, rep) {
    const out = [];
    for (const mode of ['rename', 'overwrite']) {
      const r = await probeLatency({
        a: pair.a.folder('lat'),
        b: pair.b.folder('lat'),
        mode,
        reps: ctx.latReps,
        gapMs: profile.latGapMs,
        timeoutMs: 30_000,
        log: ctx.verbose,
      });
      const { p50_ms, p95_ms, max_ms, min_ms } = r;
      out.push(record(ID, `LAT-${mode}`, rep, r.ok ? 'ok' : 'timeout', { p50_ms, p95_ms, max_ms, min_ms }, r.ok ? undefined : `${r.timeouts} probe(s) not on B within 30 s`));
    }
    return out;
  }

  async function runIdle(pair, rep) {
    await sleep(profile.idleSettleMs);
    const pids = { A: pidsOf(pair.a), B: pidsOf(pair.b) };
    const s = await sampleGroups(pids, profile.idleWindowMs);
    // Not in the table: the daemon's own resident set (the last pid; the launcher's when there is one process).
    const daemonRss = (group) => statusKib(group.at(-1), 'VmRSS') / 1024;
    return record(ID, 'IDLE', rep, 'ok', {
      cpu_pct: (s.A.cpu_pct + s.B.cpu_pct) / 2,
      rss_mib: (s.A.rss_mib + s.B.rss_mib) / 2,
      A_cpu_pct: s.A.cpu_pct,
      B_cpu_pct: s.B.cpu_pct,
      A_rss_mib: s.A.rss_mib,
      B_rss_mib: s.B.rss_mib,
      A_private_mib: s.A.private_mib,
      B_private_mib: s.B.private_mib,
      A_pss_mib: s.A.pss_mib,
      B_pss_mib: s.B.pss_mib,
      A_processes: pids.A.length,
      A_daemon_rss_mib: daemonRss(pids.A),
      B_daemon_rss_mib: daemonRss(pids.B),
      // The daemons' own account of it: heap used and reserved, memory outside the heap.
      ...memoryOf(await controlStatus(pair.a.home), 'A'),
      ...memoryOf(await controlStatus(pair.b.home), 'B'),
    });
  }

  async function runMixed(pair, rep) {
    const a = pair.a.folder('mixed');
    const b = pair.b.folder('mixed');
    fs.mkdirSync(path.join(a, 'small'), { recursive: true });
    await waitFor('wizard B to create mixed/small', () => fs.existsSync(path.join(b, 'small')), 30_000);
    await sleep(profile.settleMs);
    const smallTpl = tpl.dir('mixedsmall');
    const bigTpl = path.join(tpl.dir('mixedbig'), 'mixed-big.bin');
    const smallFiles = fs.readdirSync(smallTpl).map((n) => path.join(smallTpl, n));
    const expect = mixedExpectation({ smallTpl, bigTpl });
    const t0 = Date.now();
    const copies = [runOk('cp', [bigTpl, `${a}/`], { timeoutMs: 600_000 }), runOk('cp', ['-t', path.join(a, 'small'), ...smallFiles])];
    const r = await watchMixed({ b, expect, t0, timeoutMs: profile.syncTimeoutMs });
    await Promise.all(copies);
    const { small_first_ms, small_p50_ms, small_max_ms, big_ms } = r;
    return record(ID, 'MIXED', rep, r.ok ? 'ok' : 'timeout', { small_first_ms, small_p50_ms, small_max_ms, big_ms }, r.ok ? undefined : 'not everything reached B');
  }

  /** MiB of the index files (SQLite and its WAL) under a node's home. */
  const indexMib = (home) => {
    let bytes = 0;
    for (const e of fs.readdirSync(home, { recursive: true, withFileTypes: true })) {
      if (e.isFile() && /\.(db|sqlite)(-wal|-shm)?$/.test(e.name)) bytes += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
    }
    return bytes / 2 ** 20;
  };
  /** The status `process` memory figures, in MiB, prefixed: where an RSS goes (heap, external, the rest is SQLite and native). */
  const memoryOf = (st, prefix) => {
    const p = st?.process;
    if (!p) return {};
    const mib = (b) => b / 2 ** 20;
    return { [`${prefix}_heap_used_mib`]: mib(p.heapUsedBytes), [`${prefix}_heap_total_mib`]: mib(p.heapTotalBytes), [`${prefix}_external_mib`]: mib(p.externalBytes), [`${prefix}_status_rss_mib`]: mib(p.rssBytes) };
  };

  /**
   * SCALE and SCALE-1M: one node indexes template `tplName` from daemon start, then rescans it
   * with no change. `indexTimeoutMs` bounds the first index, `rescanTimeoutMs` the rescan.
   */
  async function runScale(base, rep, { workload, tplName, indexTimeoutMs, rescanTimeoutMs }) {
    const node = await initNode(base, 'C', [tplName]);
    await place(tpl.dir(tplName), node.folder(tplName));
    const want = tpl.info(tplName).files;
    const t0 = Date.now();
    startDaemon(node);
    // A status call sums over the whole index on the daemon's main thread (~25 ms at 100,000
    // files), so polling every 20x its latency keeps the poller's share near 5%; the price is a
    // resolution of about 0.5 s at full size (25 ms at quick size, about 5 s at 1,000,000 files).
    // At 1,000,000 files status may not answer for minutes while the index is built: an
    // unanswered poll keeps the gap, and no gap exceeds 5 s, so the index end is seen within 5 s.
    let gap = 25;
    let st;
    const poll = async () => {
      const s = Date.now();
      st = await controlStatus(node.home, 60_000).catch(() => undefined);
      if (st !== undefined) gap = Math.min(5000, Math.max(25, 20 * (Date.now() - s)));
      return st?.folders.find((f) => f.id === tplName);
    };
    const indexed = (x) => x !== undefined && x.state === 'idle' && x.files === want;
    let f;
    const deadline = t0 + indexTimeoutMs;
    const exited = () => node.child.exitCode !== null || node.child.signalCode !== null;
    while (!indexed((f = await poll())) && Date.now() < deadline && !exited()) await sleep(gap);
    if (!indexed(f)) {
      const why = exited() ? `the daemon exited with ${node.child.exitCode ?? node.child.signalCode} (last log line: ${lastLogLine(logFileOf(node))})` : `after ${indexTimeoutMs / 1000} s`;
      return record(ID, workload, rep, 'timeout', {}, `index held ${f?.files ?? 0} of ${want} files ${why}`);
    }
    // The end is the daemon's own: its first full scan's last commit (status `fullScans.lastAtMs`, this
    // machine's clock), not when a poll saw it, which may be up to one gap later (5 s at most).
    const indexMs = f.fullScans?.count === 1 && f.fullScans.lastAtMs >= t0 ? f.fullScans.lastAtMs - t0 : Date.now() - t0;
    const afterIndex = { rss_after_index_mib: rssMib(node), ...memoryOf(st, 'index') };
    await sleep(500);
    // A changed master ignore list (<home>/ignore, here one comment line more) makes every folder
    // rescan in full, through the periodic rescan's code path (queueScan of the root). A config
    // edit did the same until the node learned to rescan only for new ignore rules.
    fs.appendFileSync(path.join(node.home, 'ignore'), `# bench: rescan with no change (${new Date().toISOString()})\n`);
    // Counted by the daemon (status fullScans), not seen by polling for 'scanning': at quick
    // size the rescan is over in a few ms, before any poll, and the quick profile failed here.
    const before = f?.fullScans?.count ?? 0;
    const scanDeadline = Date.now() + rescanTimeoutMs;
    while (Date.now() < scanDeadline && !((f = await poll())?.fullScans?.count > before)) await sleep(gap);
    if (!(f?.fullScans?.count > before)) {
      return record(ID, workload, rep, 'failed', { index_ms: indexMs }, `no complete rescan within ${rescanTimeoutMs / 1000} s of the ignore-list edit`);
    }
    return record(ID, workload, rep, 'ok', {
      index_ms: indexMs,
      // From the scan's start to its last commit, as the daemon timed it.
      rescan_ms: f.fullScans.lastMs,
      rss_mib: rssMib(node),
      peak_rss_mib: rssMib(node, 'VmHWM'),
      files: want,
      // Not in the table: where the memory goes (docs/BENCHMARKS.md, SCALE-1M).
      ...afterIndex,
      ...memoryOf(st, 'rescan'),
      index_file_mib: indexMib(node.home),
    });
  }

  /** Sets the upload limit and compression in `node`'s config.yaml; resolves when status shows both applied, also on the link to `peer`. */
  async function configure(node, peer, up, compression) {
    const file = path.join(node.home, 'config.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const next = text.replace(/^(\s+up:) \d+/m, `$1 ${up}`).replace(/^compression: \w+/m, `compression: ${compression}`);
    if (!/^\s+up: /m.test(text) || !/^compression: /m.test(text)) throw new Error(`${file} has no bandwidth.up or compression line to edit`);
    if (next !== text) fs.writeFileSync(file, next);
    await waitFor(
      `wizard ${node.name} to apply bandwidth.up=${up} compression=${compression}`,
      async () => {
        const st = await controlStatus(node.home);
        const link = st.peers.find((p) => p.id === peer.id);
        return st.settings.limits.bandwidthUp === up && st.settings.compression === compression && link?.connected && link.compression?.mode === compression;
      },
      30_000,
      100,
    );
  }

  /** COMPRESS: each file copied into its own folder on A, once per compression mode (see compressPlan). */
  async function runCompress(pair, rep, out) {
    const { a, b } = pair;
    for (const k of compressPlan(rep)) {
      const up = k.slow ? profile.compress.slowLinkBytesPerS : 0;
      const recs = [];
      for (const c of k.cases) {
        const t0 = Date.now();
        await Promise.all([configure(a, b, up, c.mode), configure(b, a, up, c.mode)]);
        ctx.verbose(`wizard ${c.workload}: bandwidth.up=${up} compression=${c.mode} applied on A and B in ${Date.now() - t0} ms`);
        const src = tpl.dir(c.template);
        const dst = a.folder(c.folder);
        // No note of the link's codec after the sync: status steps the codec only as it is
        // asked, and its ratio is of the codec's recent chunks, which may be the previous case's.
        recs.push(await liveChange(pair, c.folder, tpl.digest(c.template), c.workload, rep, () => runOk('cp', ['-a', `${src}/.`, `${dst}/`], { timeoutMs: profile.syncTimeoutMs })));
      }
      out.push(...recs, compressRatio(ID, k.kind, rep, recs));
    }
  }

  async function runGroup(group, rep) {
    const base = freshDir(scratch, `${group.name.toLowerCase()}-${rep}`);
    const stop = () => Promise.all([...running].map((n) => stopDaemon(n)));
    const guard = { system: ID, group, rep, base, logDir: ctx.logDir, keepRunDirs: ctx.keepRunDirs, log, stop };
    return guardedGroup(guard, async (out) => {
      switch (group.name) {
        case 'LAT':
          out.push(...(await runLat(await startPair(base, ['lat']), rep)));
          break;
        case 'SMALL': {
          const pair = await startPair(base, ['small']);
          const r = await initialSync(pair, 'small', 'small', 'SMALL', rep);
          r.metrics.boot_ms = pair.bootMs;
          out.push(r);
          if (rep === 1 && ctx.workloads.includes('IDLE') && r.status === 'ok') out.push(await runIdle(pair, rep));
          break;
        }
        case 'BIG': {
          const pair = await startPair(base, ['big']);
          const r = await initialSync(pair, 'big', 'big', 'BIG', rep);
          out.push(r);
          if (ctx.workloads.includes('EDIT')) {
            if (r.status !== 'ok') out.push(record(ID, 'EDIT', rep, 'failed', {}, 'BIG did not sync'));
            else {
              const file = path.join(pair.a.folder('big'), 'big.bin');
              out.push(await liveChange(pair, 'big', tpl.digest('big-edit'), 'EDIT', rep, async () => generate('edit', file, { seed: ctx.seed, profile }), { afterWrite: true }));
            }
          }
          break;
        }
        case 'SHIFT': {
          const pair = await startPair(base, ['shift']);
          const r = await initialSync(pair, 'shift', 'shift', 'SHIFT-initial', rep);
          out.push(r);
          if (r.status !== 'ok') out.push(record(ID, 'SHIFT', rep, 'failed', {}, 'the initial 64 MiB sync failed'));
          else {
            const file = path.join(pair.a.folder('shift'), 'shift.bin');
            out.push(await liveChange(pair, 'shift', tpl.digest('shift-ins'), 'SHIFT', rep, async () => generate('shiftins', file, { seed: ctx.seed, profile }), { afterWrite: true }));
          }
          break;
        }
        case 'BIG4G': {
          const pair = await startPair(base, ['big4g']);
          const r = await initialSync(pair, 'big4g', 'big4g', 'EDIT-4G-initial', rep);
          out.push(r);
          if (r.status !== 'ok') out.push(record(ID, 'EDIT-4G', rep, 'failed', {}, 'the initial sync failed'));
          else {
            const file = path.join(pair.a.folder('big4g'), 'big4g.bin');
            out.push(await liveChange(pair, 'big4g', tpl.digest('big4g-edit'), 'EDIT-4G', rep, async () => generate('edit', file, { seed: ctx.seed, profile }), { afterWrite: true }));
          }
          break;
        }
        case 'BURST': {
          const pair = await startPair(base, ['burst']);
          // The writer is its own process, as a build tool would be, so the waiter polls while it writes.
          out.push(await liveChange(pair, 'burst', tpl.digest('burst'), 'BURST', rep, () => ctx.spawnBurst(pair.a.folder('burst'))));
          break;
        }
        case 'MIXED':
          out.push(await runMixed(await startPair(base, ['mixed']), rep));
          break;
        case 'SCALE':
          out.push(await runScale(base, rep, { workload: 'SCALE', tplName: 'scale', indexTimeoutMs: profile.syncTimeoutMs, rescanTimeoutMs: 60_000 }));
          break;
        case 'SCALE1M': {
          const { indexTimeoutMs, rescanTimeoutMs } = profile.scale1m;
          out.push(await runScale(base, rep, { workload: 'SCALE-1M', tplName: 'scale1m', indexTimeoutMs, rescanTimeoutMs }));
          break;
        }
        case 'COMPRESS': {
          const t0 = Date.now();
          const pair = await startPair(base, compressPlan(rep).flatMap((k) => k.cases.map((c) => c.folder)));
          ctx.verbose(`wizard COMPRESS: pair started and connected in ${Date.now() - t0} ms`);
          await runCompress(pair, rep, out);
          break;
        }
        default:
          throw new Error(`unknown group ${group.name}`);
      }
    });
  }

  return {
    id: ID,
    label: 'Wizard',
    config: `config as written by \`wizard init\` (debounceMs 30, transfers 4, hashers 2, compression ${process.env.WZB_COMPRESSION ? `${process.env.WZB_COMPRESSION} (WZB_COMPRESSION)` : 'auto'}), two daemons paired through one CA; COMPRESS sets limits.bandwidth.up and compression (none/auto) on both`,
    supports: () => true,
    async prepare() {
      if (!ctx.wizardEntry && !fs.existsSync(path.join(repoRoot, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run npm run build (or drop --no-build)');
      const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
      return `wizard ${pkg.version} (${ctx.wizardEntry ? 'src/ compiled at the start of the run' : 'dist/ as found'})`;
    },
    runGroup,
    async cleanup() {
      await Promise.all([...running].map((n) => stopDaemon(n)));
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
