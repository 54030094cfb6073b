// What every driver shares: result records and the per-group scratch layout.
import fs from 'node:fs';
import path from 'node:path';
import { COMPRESS_CASES } from '../lib/args.mjs';
import { retireRunDir } from '../lib/deleted-inodes.mjs';

/** One result record (see lib/table.mjs for the shape). */
export function record(system, workload, rep, status, metrics = {}, note = undefined) {
  return { system, workload, rep, status, metrics, ...(note ? { note } : {}) };
}

/** A fresh, empty scratch dir for one group of one system. */
export function freshDir(root, name) {
  const dir = path.join(root, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The records a group yields when its setup failed: every workload of the group marked 'failed'. */
export function failedGroup(system, group, rep, err) {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  const workloads = group.name === 'LAT' ? ['LAT-rename', 'LAT-overwrite'] : group.name === 'COMPRESS' ? COMPRESS_CASES : group.workloads;
  return workloads.map((w) => record(system, w, rep, 'failed', {}, msg));
}

/**
 * Runs one group's `body` (which pushes records into `out`) with the clean-up every system
 * shares: a failure marks the group's workloads without a record 'failed', `stop` ends the
 * system's processes, the logs of a failed or timed-out group are kept, and the run dir is
 * set aside for removal at the end of the run (retireRunDir) unless asked to keep it. Returns
 * the records.
 */
export async function guardedGroup({ system, group, rep, base, logDir, keepRunDirs, log, stop }, body) {
  const out = [];
  try {
    await body(out);
  } catch (err) {
    log(`${system} ${group.name} rep ${rep} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    out.push(...failedGroup(system, group, rep, err).filter((r) => !out.some((o) => o.workload === r.workload)));
  } finally {
    await stop();
    if (out.some((r) => r.status === 'timeout' || r.status === 'failed')) {
      log(`${system} ${group.name} rep ${rep}: logs kept in ${saveLogs(base, path.join(logDir, `${system}-${group.name}-${rep}`))}`);
    }
    if (!keepRunDirs) retireRunDir(base);
  }
  return out;
}

/** Copies every *.log under `base` (two levels deep: the daemons' logs and homes) to `dest`; returns `dest`. */
export function saveLogs(base, dest) {
  fs.mkdirSync(dest, { recursive: true });
  const visit = (dir, depth) => {
    let entries = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isFile() && e.name.endsWith('.log')) fs.copyFileSync(p, path.join(dest, `${path.relative(base, dir).replace(/\//g, '_') || 'run'}-${e.name}`));
      else if (e.isDirectory() && depth > 0) visit(p, depth - 1);
    }
  };
  visit(base, 1);
  return dest;
}

/** The last non-empty line of a log file, for one-line error messages. */
export function lastLogLine(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').pop()?.slice(0, 300) ?? '';
  } catch {
    return '';
  }
}

/**
 * The COMPRESS cases in the order one repetition runs them: per data kind, compression off then
 * on in odd repetitions and on then off in even ones, so warming up favours neither.
 * Each case names its template (a dir with one file) and whether the upload is limited.
 */
export function compressPlan(rep) {
  const kinds = [
    { kind: 'text', slow: true, tpl: { none: 'comptext1', auto: 'comptext2' } },
    { kind: 'random', slow: false, tpl: { none: 'comprand1', auto: 'comprand2' } },
  ];
  const modes = rep % 2 === 1 ? ['none', 'auto'] : ['auto', 'none'];
  return kinds.map((k) => ({ ...k, cases: modes.map((mode) => ({ mode, template: k.tpl[mode], folder: `${k.kind}-${mode}`, workload: `COMPRESS-${k.kind}-${mode}` })) }));
}

/** The auto ÷ none record of one data kind, from its two case records (failed when either is). */
export function compressRatio(system, kind, rep, recs) {
  const none = recs.find((r) => r.workload === `COMPRESS-${kind}-none`);
  const auto = recs.find((r) => r.workload === `COMPRESS-${kind}-auto`);
  if (none?.status !== 'ok' || auto?.status !== 'ok') return record(system, `COMPRESS-${kind}`, rep, 'failed', {}, 'a case did not sync');
  return record(system, `COMPRESS-${kind}`, rep, 'ok', {
    ms_ratio: auto.metrics.ms / none.metrics.ms,
    bytes_ratio: auto.metrics.wire_bytes / none.metrics.wire_bytes,
  });
}
