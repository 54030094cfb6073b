// rsync driver, ported from ../shared/bench/rsync.sh: one-shot `rsync -a --no-whole-file --stats`
// pushes from A to an rsync daemon on 127.0.0.1 whose module is B (a real socket, rsync's delta
// algorithm, no ssh, no compression). Time = wall time of the client; BURST = writing on A plus
// one rsync run, as a build-then-push user would. Bytes = "Total bytes sent" + "received".
// No watch mode, so LAT, MIXED and IDLE do not apply. SCALE: a no-change run stands in for a
// rescan (rsync must stat both trees); it keeps no index, so there is no index time.
import fs from 'node:fs';
import path from 'node:path';
import { generate } from '../lib/gen.mjs';
import { freePort, place, run, runOk, spawnTracked, stopChild, waitFor } from '../lib/proc.mjs';
import { treeDigest } from '../lib/treehash.mjs';
import { compressPlan, compressRatio, freshDir, guardedGroup, record } from './common.mjs';

const OPTS = ['-a', '--no-whole-file', '--stats'];

function statBytes(out, label) {
  const m = new RegExp(`^${label}:\\s*([\\d,]+)`, 'm').exec(out);
  return m ? Number(m[1].replace(/,/g, '')) : NaN;
}

/** Creates the rsync driver. */
export function createRsyncDriver(ctx) {
  const { profile, tpl, log } = ctx;
  const scratch = path.join(ctx.scratch, 'rsync');
  const ID = 'rsync';
  let daemon;

  async function startDaemon(base) {
    const port = await freePort();
    fs.mkdirSync(path.join(base, 'A'), { recursive: true });
    fs.mkdirSync(path.join(base, 'B'), { recursive: true });
    const conf = path.join(base, 'rsyncd.conf');
    const asRoot = process.getuid?.() === 0 ? '    uid = root\n    gid = root\n' : '';
    fs.writeFileSync(conf, `use chroot = no\npid file = ${base}/rsyncd.pid\n[b]\n    path = ${base}/B\n    read only = no\n${asRoot}`);
    daemon = spawnTracked('rsync', ['--daemon', '--no-detach', `--config=${conf}`, '--address=127.0.0.1', `--port=${port}`], { logFile: path.join(base, 'rsyncd.log') });
    await waitFor('the rsync daemon', async () => (await run('rsync', [`rsync://127.0.0.1:${port}/`], { timeoutMs: 5000 })).code === 0, 20_000, 100);
    return port;
  }

  /** Pushes A/sub to B/sub, with `extra` client options; { ms, wire_bytes }. */
  async function push(base, port, sub, extra = []) {
    const t0 = Date.now();
    const r = await runOk('rsync', [...OPTS, ...extra, `${base}/A/${sub}/`, `rsync://127.0.0.1:${port}/b/${sub}/`], { timeoutMs: profile.syncTimeoutMs });
    const ms = Date.now() - t0;
    return { ms, wire_bytes: statBytes(r.stdout, 'Total bytes sent') + statBytes(r.stdout, 'Total bytes received') };
  }

  const verified = (base, sub, name) => treeDigest(path.join(base, 'B', sub)).digest === tpl.digest(name);
  const result = (base, sub, name, workload, rep, metrics) =>
    verified(base, sub, name) ? record(ID, workload, rep, 'ok', metrics) : record(ID, workload, rep, 'failed', {}, 'B differs from A after rsync');

  async function runGroup(group, rep) {
    if (group.name === 'LAT') return ['LAT-rename', 'LAT-overwrite'].map((w) => record(ID, w, rep, 'n/a'));
    if (group.name === 'MIXED') return [record(ID, 'MIXED', rep, 'n/a')];
    const base = freshDir(scratch, `${group.name.toLowerCase()}-${rep}`);
    const stop = async () => {
      await stopChild(daemon);
      daemon = undefined;
    };
    const guard = { system: ID, group, rep, base, logDir: ctx.logDir, keepRunDirs: ctx.keepRunDirs, log, stop };
    return guardedGroup(guard, async (out) => {
      const port = await startDaemon(base);
      const A = (sub) => path.join(base, 'A', sub);
      switch (group.name) {
        case 'SMALL':
          await place(tpl.dir('small'), A('small'));
          out.push(result(base, 'small', 'small', 'SMALL', rep, await push(base, port, 'small')));
          if (rep === 1 && ctx.workloads.includes('IDLE')) out.push(record(ID, 'IDLE', rep, 'n/a'));
          break;
        case 'BIG':
          await place(tpl.dir('big'), A('big'));
          out.push(result(base, 'big', 'big', 'BIG', rep, await push(base, port, 'big')));
          if (ctx.workloads.includes('EDIT')) {
            generate('edit', path.join(A('big'), 'big.bin'), { seed: ctx.seed, profile });
            await runOk('sync', []);
            out.push(result(base, 'big', 'big-edit', 'EDIT', rep, await push(base, port, 'big')));
          }
          break;
        case 'SHIFT':
          await place(tpl.dir('shift'), A('shift'));
          out.push(result(base, 'shift', 'shift', 'SHIFT-initial', rep, await push(base, port, 'shift')));
          generate('shiftins', path.join(A('shift'), 'shift.bin'), { seed: ctx.seed, profile });
          await runOk('sync', []);
          out.push(result(base, 'shift', 'shift-ins', 'SHIFT', rep, await push(base, port, 'shift')));
          break;
        case 'BIG4G':
          await place(tpl.dir('big4g'), A('big4g'));
          out.push(result(base, 'big4g', 'big4g', 'EDIT-4G-initial', rep, await push(base, port, 'big4g')));
          generate('edit', path.join(A('big4g'), 'big4g.bin'), { seed: ctx.seed, profile });
          await runOk('sync', []);
          out.push(result(base, 'big4g', 'big4g-edit', 'EDIT-4G', rep, await push(base, port, 'big4g')));
          break;
        case 'BURST': {
          const t0 = Date.now();
          await ctx.spawnBurst(A('burst'));
          const r = await push(base, port, 'burst');
          out.push(result(base, 'burst', 'burst', 'BURST', rep, { ms: Date.now() - t0, rsync_ms: r.ms, wire_bytes: r.wire_bytes }));
          break;
        }
        case 'SCALE': {
          await place(tpl.dir('scale'), A('scale'));
          const first = await push(base, port, 'scale');
          const again = await push(base, port, 'scale');
          out.push(result(base, 'scale', 'scale', 'SCALE', rep, { index_ms: null, rescan_ms: again.ms, rss_mib: null, peak_rss_mib: null, initial_ms: first.ms }));
          break;
        }
        case 'COMPRESS':
          // "none" is the plain push, "auto" adds -z; the slow link is --bwlimit (KiB/s) on the client.
          for (const k of compressPlan(rep)) {
            const recs = [];
            for (const c of k.cases) {
              await place(tpl.dir(c.template), A(c.folder));
              const extra = [...(c.mode === 'auto' ? ['-z'] : []), ...(k.slow ? [`--bwlimit=${Math.round(profile.compress.slowLinkBytesPerS / 1024)}`] : [])];
              recs.push(result(base, c.folder, c.template, c.workload, rep, await push(base, port, c.folder, extra)));
            }
            out.push(...recs, compressRatio(ID, k.kind, rep, recs));
          }
          break;
        default:
          throw new Error(`unknown group ${group.name}`);
      }
    });
  }

  return {
    id: ID,
    label: 'rsync',
    config: `daemon on 127.0.0.1, client \`rsync ${OPTS.join(' ')}\` (no -z, no ssh); one-shot runs, so no LAT, MIXED or IDLE; COMPRESS: auto adds -z, the slow link is --bwlimit`,
    supports: () => true,
    async prepare() {
      const r = await run('rsync', ['--version']);
      if (r.code !== 0) throw new Error('rsync --version failed');
      return r.stdout.trim().split('\n')[0].replace(/\s+/g, ' ');
    },
    runGroup,
    async cleanup() {
      await stopChild(daemon);
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
