// What every driver shares: result records and the per-group scratch layout.
import fs from 'node:fs';
import path from 'node:path';

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
  const workloads = group.name === 'LAT' ? ['LAT-rename', 'LAT-overwrite'] : group.workloads;
  return workloads.map((w) => record(system, w, rep, 'failed', {}, msg));
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
