// Turns raw results into the side-by-side table. Pure: results in, text out.
//
// A result is { system, workload, rep, status, metrics, note? } where status is 'ok',
// 'timeout', 'failed' or 'n/a' and metrics maps a metric name to a number, or to null for a
// metric the system has no equivalent of (rsync keeps no index, so it has no index time).
import { median } from './stats.mjs';

/** Table rows, in order: which workload/metric each shows, its label and its unit. */
export const ROWS = Object.freeze([
  { workload: 'LAT-rename', metric: 'p50_ms', label: 'LAT rename (temp + rename): p50', unit: 'ms' },
  { workload: 'LAT-rename', metric: 'p95_ms', label: 'LAT rename: p95', unit: 'ms' },
  { workload: 'LAT-rename', metric: 'max_ms', label: 'LAT rename: max', unit: 'ms' },
  { workload: 'LAT-overwrite', metric: 'p50_ms', label: 'LAT overwrite (O_TRUNC + write): p50', unit: 'ms' },
  { workload: 'LAT-overwrite', metric: 'p95_ms', label: 'LAT overwrite: p95', unit: 'ms' },
  { workload: 'LAT-overwrite', metric: 'max_ms', label: 'LAT overwrite: max', unit: 'ms' },
  { workload: 'SMALL', metric: 'ms', label: 'SMALL initial sync: time', unit: 'ms' },
  { workload: 'SMALL', metric: 'cpu_ms', label: 'SMALL: CPU time of both nodes until converged', unit: 'ms' },
  { workload: 'SMALL', metric: 'cpu_sys_ms', label: 'SMALL: of which in the kernel', unit: 'ms' },
  { workload: 'SMALL', metric: 'wire_bytes', label: 'SMALL: bytes on the wire', unit: 'bytes' },
  { workload: 'IDLE', metric: 'cpu_pct', label: 'IDLE with SMALL: CPU per node', unit: 'pct' },
  { workload: 'IDLE', metric: 'rss_mib', label: 'IDLE with SMALL: RSS per node', unit: 'mib' },
  { workload: 'BIG', metric: 'ms', label: 'BIG initial sync: time', unit: 'ms' },
  { workload: 'BIG', metric: 'cpu_ms', label: 'BIG: CPU time of both nodes until converged', unit: 'ms' },
  { workload: 'BIG', metric: 'cpu_sys_ms', label: 'BIG: of which in the kernel', unit: 'ms' },
  { workload: 'BIG', metric: 'wire_bytes', label: 'BIG: bytes on the wire', unit: 'bytes' },
  { workload: 'EDIT', metric: 'ms', label: 'EDIT (4 KiB in the middle of BIG): time', unit: 'ms' },
  { workload: 'EDIT', metric: 'wire_bytes', label: 'EDIT: bytes on the wire', unit: 'bytes' },
  { workload: 'SHIFT', metric: 'ms', label: 'SHIFT (100 B inserted at 0): time', unit: 'ms' },
  { workload: 'SHIFT', metric: 'wire_bytes', label: 'SHIFT: bytes on the wire', unit: 'bytes' },
  { workload: 'EDIT-4G', metric: 'ms', label: 'EDIT-4G (4 KiB in the middle of big4g.bin, 4 GiB): time', unit: 'ms' },
  { workload: 'EDIT-4G', metric: 'wire_bytes', label: 'EDIT-4G: bytes on the wire', unit: 'bytes' },
  { workload: 'BURST', metric: 'ms', label: 'BURST: write start to converged', unit: 'ms' },
  { workload: 'BURST', metric: 'wire_bytes', label: 'BURST: bytes on the wire', unit: 'bytes' },
  { workload: 'MIXED', metric: 'small_p50_ms', label: 'MIXED: small files on B, p50', unit: 'ms' },
  { workload: 'MIXED', metric: 'small_max_ms', label: 'MIXED: small files on B, max', unit: 'ms' },
  { workload: 'MIXED', metric: 'big_ms', label: 'MIXED: big file on B', unit: 'ms' },
  { workload: 'SCALE', metric: 'index_ms', label: 'SCALE: initial index', unit: 'ms' },
  { workload: 'SCALE', metric: 'rescan_ms', label: 'SCALE: rescan, no change', unit: 'ms' },
  { workload: 'SCALE', metric: 'rss_mib', label: 'SCALE: RSS after rescan', unit: 'mib' },
  { workload: 'SCALE', metric: 'peak_rss_mib', label: 'SCALE: peak RSS', unit: 'mib' },
  { workload: 'SCALE-1M', metric: 'index_ms', label: 'SCALE-1M: initial index', unit: 'ms' },
  { workload: 'SCALE-1M', metric: 'rescan_ms', label: 'SCALE-1M: rescan, no change', unit: 'ms' },
  { workload: 'SCALE-1M', metric: 'rss_mib', label: 'SCALE-1M: RSS after rescan', unit: 'mib' },
  { workload: 'SCALE-1M', metric: 'peak_rss_mib', label: 'SCALE-1M: peak RSS', unit: 'mib' },
  // COMPRESS: Syncthing's "none"/"auto" are its compression never/always, rsync's are without/with -z.
  { workload: 'COMPRESS-text-none', metric: 'ms', label: 'COMPRESS text, slow link, none: time', unit: 'ms' },
  { workload: 'COMPRESS-text-auto', metric: 'ms', label: 'COMPRESS text, slow link, auto: time', unit: 'ms' },
  { workload: 'COMPRESS-text', metric: 'ms_ratio', label: 'COMPRESS text, slow link: time auto ÷ none', unit: 'ratio' },
  { workload: 'COMPRESS-text-none', metric: 'wire_bytes', label: 'COMPRESS text, slow link, none: bytes on the wire', unit: 'bytes' },
  { workload: 'COMPRESS-text-auto', metric: 'wire_bytes', label: 'COMPRESS text, slow link, auto: bytes on the wire', unit: 'bytes' },
  { workload: 'COMPRESS-text', metric: 'bytes_ratio', label: 'COMPRESS text, slow link: bytes auto ÷ none', unit: 'ratio' },
  { workload: 'COMPRESS-random-none', metric: 'ms', label: 'COMPRESS random, loopback, none: time', unit: 'ms' },
  { workload: 'COMPRESS-random-auto', metric: 'ms', label: 'COMPRESS random, loopback, auto: time', unit: 'ms' },
  { workload: 'COMPRESS-random', metric: 'ms_ratio', label: 'COMPRESS random, loopback: time auto ÷ none', unit: 'ratio' },
  { workload: 'COMPRESS-random-none', metric: 'wire_bytes', label: 'COMPRESS random, loopback, none: bytes on the wire', unit: 'bytes' },
  { workload: 'COMPRESS-random-auto', metric: 'wire_bytes', label: 'COMPRESS random, loopback, auto: bytes on the wire', unit: 'bytes' },
  { workload: 'COMPRESS-random', metric: 'bytes_ratio', label: 'COMPRESS random, loopback: bytes auto ÷ none', unit: 'ratio' },
]);

const group3 = (n) => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Scales a value of `unit` for display: { factor, suffix, digits } chosen from the value's magnitude. */
function scaleFor(v, unit) {
  const a = Math.abs(v);
  switch (unit) {
    case 'ms':
      return a >= 1000 ? { factor: 1000, suffix: ' s', digits: 2 } : { factor: 1, suffix: ' ms', digits: a < 10 ? 1 : 0 };
    case 'bytes':
      if (a >= 1e9) return { factor: 1e9, suffix: ' GB', digits: 2 };
      if (a >= 1e6) return { factor: 1e6, suffix: ' MB', digits: 1 };
      if (a >= 1e4) return { factor: 1e3, suffix: ' kB', digits: 1 };
      return { factor: 1, suffix: ' B', digits: 0 };
    case 'pct':
      return { factor: 1, suffix: ' %', digits: 2 };
    case 'mib':
      return { factor: 1, suffix: ' MiB', digits: 1 };
    case 'ratio':
      return { factor: 1, suffix: '×', digits: 2 };
    default:
      return { factor: 1, suffix: '', digits: 2 };
  }
}

function fmt(v, s) {
  const x = v / s.factor;
  return s.factor === 1 && s.suffix === ' B' ? group3(x) : x.toFixed(s.digits);
}

/** One value with its unit, e.g. 1234 ms -> "1.23 s", 616697 bytes -> "616.7 kB". */
export function formatValue(v, unit) {
  if (v === Infinity) return 'timeout';
  if (!Number.isFinite(v)) return '–';
  const s = scaleFor(v, unit);
  return `${fmt(v, s)}${s.suffix}`;
}

/** A median with its range in the median's unit, e.g. "1.23 s (1.10–1.40)"; no range for one value. */
export function formatRange(values, unit) {
  const med = median(values);
  if (values.length <= 1) return formatValue(med, unit);
  const s = scaleFor(med, unit);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (!Number.isFinite(hi)) return `${formatValue(med, unit)} (max: timeout)`;
  // Byte counts often repeat exactly; a range that prints as one number says nothing.
  if (fmt(lo, s) === fmt(hi, s)) return `${fmt(med, s)}${s.suffix}`;
  return `${fmt(med, s)}${s.suffix} (${fmt(lo, s)}–${fmt(hi, s)})`;
}

/** Wizard ÷ other, e.g. "0.52×"; '–' when either side is missing, not finite or the divisor is 0. */
export function formatRatio(ours, theirs) {
  if (!Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return '–';
  const r = ours / theirs;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toPrecision(2)}×`;
}

/** Per row and system: the metric's values over repetitions, plus the statuses of failed repetitions. */
export function summarize(results, systems) {
  const rows = [];
  for (const row of ROWS) {
    const forRow = results.filter((r) => r.workload === row.workload);
    if (forRow.length === 0) continue;
    const cells = {};
    for (const sys of systems) {
      const mine = forRow.filter((r) => r.system === sys);
      const values = [];
      const failures = [];
      let notApplicable = false;
      for (const r of mine) {
        if (r.status === 'n/a') notApplicable = true;
        else if (r.status !== 'ok') failures.push(r.status);
        else if (r.metrics?.[row.metric] === null) notApplicable = true;
        else if (typeof r.metrics?.[row.metric] === 'number') values.push(r.metrics[row.metric]);
      }
      cells[sys] = { values, failures, notApplicable, median: values.length ? median(values) : NaN };
    }
    rows.push({ row, cells });
  }
  return rows;
}

/** The text of one cell: median (range), failures spelled out, 'n/a' for what a system cannot do. */
export function formatCell(cell, unit) {
  if (cell.values.length === 0) {
    if (cell.failures.length > 0) return [...new Set(cell.failures)].join(', ');
    return cell.notApplicable ? 'n/a' : '–';
  }
  const text = formatRange(cell.values, unit);
  if (cell.failures.length === 0) return text;
  const n = cell.values.length + cell.failures.length;
  return `${text}; ${cell.failures.length} of ${n} ${[...new Set(cell.failures)].join('/')}`;
}

/**
 * The markdown table: one row per workload metric, a column per system and, for every system
 * after the first (Wizard), a ratio column "first ÷ that system" (below 1: Wizard is faster/smaller).
 * `systems` is [{ id, label }].
 */
export function formatTable(results, systems) {
  const ids = systems.map((s) => s.id);
  const [base, ...others] = systems;
  const header = ['workload', base.label];
  for (const o of others) header.push(o.label, `${base.label} ÷ ${o.label}`);
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const { row, cells } of summarize(results, ids)) {
    const b = cells[base.id];
    const line = [row.label, formatCell(b, row.unit)];
    for (const o of others) {
      const c = cells[o.id];
      // A ratio row is already one system's auto ÷ none; a ratio of two of those says little.
      const ok = b.failures.length === 0 && c.failures.length === 0 && row.unit !== 'ratio';
      line.push(formatCell(c, row.unit), ok ? formatRatio(b.median, c.median) : '–');
    }
    lines.push(`| ${line.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Notes attached to results (failures, caveats), one line each, for printing under the table. */
export function formatNotes(results) {
  return results.filter((r) => r.note).map((r) => `- ${r.system} ${r.workload} rep ${r.rep}: ${r.status === 'ok' ? '' : `${r.status}: `}${r.note}`);
}

/**
 * The whole report: a header describing the run, the table and the notes. `run` holds
 * { title, command, machine, started, durationS, settings, sizes, versions: [..], configs?: [..], systems: [{ id, label }] }.
 */
export function formatReport(run, results) {
  const lines = [
    `## ${run.title}`,
    '',
    `- Command: \`${run.command}\``,
    `- Machine: ${run.machine}`,
    `- Run: started ${run.started}, took ${(run.durationS / 60).toFixed(1)} min; ${run.settings}`,
    `- Versions: ${run.versions.join('; ')}`,
    ...(run.configs ?? []).map((c) => `- ${c}`),
    `- Sizes: ${run.sizes}`,
    '- Cells: median (min–max) over repetitions. Ratio = Wizard ÷ that tool: below 1 means Wizard is faster, sends less or uses less.',
    '',
    formatTable(results, run.systems),
  ];
  const notes = formatNotes(results);
  if (notes.length > 0) lines.push('', 'Notes:', ...notes);
  return `${lines.join('\n')}\n`;
}
