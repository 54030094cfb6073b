/**
 * Result formatting of the benchmark suite, and the entry point's wiring (--from, --help,
 * usage errors), without running any benchmark.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { orderFor, runSuite, type Driver } from '../../bench/lib/runner.mjs';
import { latencySummary, median, percentile } from '../../bench/lib/stats.mjs';
import {
  formatCell,
  formatNotes,
  formatRange,
  formatRatio,
  formatReport,
  formatTable,
  formatValue,
  summarize,
  type BenchResult,
  type RunInfo,
  type Unit,
} from '../../bench/lib/table.mjs';
import { GROUPS } from '../../bench/lib/args.mjs';

const runScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/run.mjs');

/** A result record with defaults for the fields a case does not care about. */
function res(system: string, workload: string, metrics: Record<string, number | null>, extra: Partial<BenchResult> = {}): BenchResult {
  return { system, workload, rep: 1, status: 'ok', metrics, ...extra };
}

const systems = [
  { id: 'wizard', label: 'Wizard' },
  { id: 'syncthing', label: 'Syncthing' },
  { id: 'rsync', label: 'rsync' },
];

/** A small run: Wizard wins one row, loses one, times out on one, and rsync lacks two. */
const sample: BenchResult[] = [
  res('wizard', 'SMALL', { ms: 1000, wire_bytes: 168_000_000 }),
  res('wizard', 'SMALL', { ms: 1200, wire_bytes: 168_000_000 }, { rep: 2 }),
  res('wizard', 'SMALL', { ms: 1100, wire_bytes: 168_000_000 }, { rep: 3 }),
  res('syncthing', 'SMALL', { ms: 4000, wire_bytes: 169_800_000 }),
  res('rsync', 'SMALL', { ms: 500, wire_bytes: 168_700_000 }),
  res('wizard', 'EDIT', {}, { status: 'timeout', note: 'B did not converge within 600 s' }),
  res('syncthing', 'EDIT', { ms: 3740, wire_bytes: 616_697 }),
  res('rsync', 'EDIT', { ms: 1880, wire_bytes: 278_243 }),
  res('wizard', 'LAT-rename', { p50_ms: 21.5, p95_ms: 40, max_ms: 55, min_ms: 10 }),
  res('syncthing', 'LAT-rename', { p50_ms: 1004.5, p95_ms: 1006.3, max_ms: 1006.7, min_ms: 1003 }),
  res('rsync', 'LAT-rename', {}, { status: 'n/a' }),
  res('wizard', 'SCALE', { index_ms: 20_000, rescan_ms: 3000, rss_mib: 150, peak_rss_mib: 180 }),
  res('rsync', 'SCALE', { index_ms: null, rescan_ms: 1500, rss_mib: null, peak_rss_mib: null }),
];

describe('stats', () => {
  it('takes medians and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 95)).toBe(19);
    expect(percentile(twenty, 100)).toBe(20);
  });

  it('marks a latency summary with a timed-out probe as not ok, and keeps the timeout in max', () => {
    expect(latencySummary([10, 20, 30]).ok).toBe(true);
    const s = latencySummary([10, Infinity, 30]);
    expect(s.ok).toBe(false);
    expect(s.max_ms).toBe(Infinity);
    expect(latencySummary([]).ok).toBe(false);
  });
});

describe('formatValue', () => {
  /** `v` in `unit` prints as `want`. */
  const cases: { v: number; unit: Unit; want: string }[] = [
    { v: 5.25, unit: 'ms', want: '5.3 ms' },
    { v: 123.4, unit: 'ms', want: '123 ms' },
    { v: 1234, unit: 'ms', want: '1.23 s' },
    { v: 616_697, unit: 'bytes', want: '616.7 kB' },
    { v: 9_262_096, unit: 'bytes', want: '9.3 MB' },
    { v: 1_100_000_000, unit: 'bytes', want: '1.10 GB' },
    { v: 2345, unit: 'bytes', want: '2,345 B' },
    { v: 0.07, unit: 'pct', want: '0.07 %' },
    { v: 58.64, unit: 'mib', want: '58.6 MiB' },
    { v: 0.4567, unit: 'ratio', want: '0.46×' },
    { v: Infinity, unit: 'ms', want: 'timeout' },
    { v: NaN, unit: 'ms', want: '–' },
  ];
  for (const c of cases) {
    it(`prints ${c.v} ${c.unit} as ${c.want}`, () => {
      expect(formatValue(c.v, c.unit)).toBe(c.want);
    });
  }

  it('prints a range in the median unit', () => {
    expect(formatRange([900, 1100, 2300], 'ms')).toBe('1.10 s (0.90–2.30)');
    expect(formatRange([42], 'ms')).toBe('42 ms');
    expect(formatRange([10, 20, Infinity], 'ms')).toBe('20 ms (max: timeout)');
    expect(formatRange([171_207_007, 171_207_007, 171_207_010], 'bytes')).toBe('171.2 MB');
  });

  it('prints ratios with two significant digits and refuses what cannot be divided', () => {
    expect(formatRatio(1, 4)).toBe('0.25×');
    expect(formatRatio(1234, 100)).toBe('12.3×');
    expect(formatRatio(500_000, 1000)).toBe('500×');
    expect(formatRatio(1, 0)).toBe('–');
    expect(formatRatio(NaN, 1)).toBe('–');
  });
});

describe('summarize and formatCell', () => {
  it('gathers repetitions per system and reads a null metric as not applicable', () => {
    const rows = summarize(sample, ['wizard', 'syncthing', 'rsync']);
    const small = rows.find((r) => r.row.workload === 'SMALL' && r.row.metric === 'ms');
    expect(small?.cells.wizard?.values).toEqual([1000, 1200, 1100]);
    expect(small?.cells.wizard?.median).toBe(1100);
    const index = rows.find((r) => r.row.metric === 'index_ms');
    expect(index?.cells.rsync?.notApplicable).toBe(true);
    expect(index && formatCell(index.cells.rsync!, 'ms')).toBe('n/a');
    expect(index && formatCell(index.cells.syncthing!, 'ms')).toBe('–');
  });

  it('spells out failures next to the repetitions that worked', () => {
    const cell = { values: [1000, 1200], failures: ['timeout' as const], notApplicable: false, median: 1100 };
    expect(formatCell(cell, 'ms')).toBe('1.10 s (1.00–1.20); 1 of 3 timeout');
    expect(formatCell({ values: [], failures: ['failed'], notApplicable: false, median: NaN }, 'ms')).toBe('failed');
  });
});

describe('formatTable', () => {
  const table = formatTable(sample, systems);
  const lines = table.split('\n');
  const row = (label: string) => lines.find((l) => l.startsWith(`| ${label} |`))?.split(' | ');

  it('has a column per system and a ratio column per other system', () => {
    expect(lines[0]).toBe('| workload | Wizard | Syncthing | Wizard ÷ Syncthing | rsync | Wizard ÷ rsync |');
    expect(lines[1]).toBe('| --- | --- | --- | --- | --- | --- |');
    for (const l of lines) expect(l.split(' | ')).toHaveLength(6);
  });

  it('shows medians with ranges and Wizard ÷ tool ratios', () => {
    expect(row('SMALL initial sync: time')).toEqual(['| SMALL initial sync: time', '1.10 s (1.00–1.20)', '4.00 s', '0.28×', '500 ms', '2.2× |']);
    expect(row('LAT rename (temp + rename): p50')?.slice(1)).toEqual(['22 ms', '1.00 s', '0.021×', 'n/a', '– |']);
  });

  it('reports a Wizard timeout as such, with no ratio', () => {
    expect(row('EDIT (4 KiB in the middle of BIG): time')?.slice(1)).toEqual(['timeout', '3.74 s', '–', '1.88 s', '– |']);
  });

  it('leaves out workloads nobody ran', () => {
    expect(table).not.toContain('BURST');
    expect(table).not.toContain('MIXED');
    expect(table).not.toContain('COMPRESS');
  });

  it('shows SCALE-1M\'s four rows for Wizard, and the tools it did not ask as n/a with the reason in the notes', () => {
    const scale1m = [
      res('wizard', 'SCALE-1M', { index_ms: 600_000, rescan_ms: 9500, rss_mib: 480, peak_rss_mib: 495, files: 1_000_000 }),
      res('syncthing', 'SCALE-1M', {}, { status: 'n/a', note: 'not run: Wizard alone' }),
    ];
    const t = formatTable(scale1m, systems.slice(0, 2)).split('\n');
    const cells = (label: string) => t.find((l) => l.startsWith(`| ${label} |`))?.split(' | ').slice(1);
    expect(cells('SCALE-1M: initial index')).toEqual(['600.00 s', 'n/a', '– |']);
    expect(cells('SCALE-1M: rescan, no change')).toEqual(['9.50 s', 'n/a', '– |']);
    expect(cells('SCALE-1M: RSS after rescan')).toEqual(['480.0 MiB', 'n/a', '– |']);
    expect(cells('SCALE-1M: peak RSS')).toEqual(['495.0 MiB', 'n/a', '– |']);
    expect(t).toHaveLength(6);
    expect(formatNotes(scale1m)).toEqual(['- syncthing SCALE-1M rep 1: n/a: not run: Wizard alone']);
  });

  it('shows a SCALE-1M index that ran out of time as timeout in every row, with the count reached in the notes', () => {
    const timedOut = [res('wizard', 'SCALE-1M', {}, { status: 'timeout', note: 'index held 612000 of 1000000 files after 2400 s' })];
    const t = formatTable(timedOut, systems.slice(0, 1));
    expect(t.split('\n').slice(2)).toEqual([
      '| SCALE-1M: initial index | timeout |',
      '| SCALE-1M: rescan, no change | timeout |',
      '| SCALE-1M: RSS after rescan | timeout |',
      '| SCALE-1M: peak RSS | timeout |',
    ]);
    expect(formatNotes(timedOut)).toEqual(['- wizard SCALE-1M rep 1: timeout: index held 612000 of 1000000 files after 2400 s']);
  });

  it('shows COMPRESS cases side by side and each system\'s auto ÷ none without a cross ratio', () => {
    const compress = [
      res('wizard', 'COMPRESS-text-none', { ms: 8000, wire_bytes: 67_500_000 }),
      res('wizard', 'COMPRESS-text-auto', { ms: 3000, wire_bytes: 20_000_000 }),
      res('wizard', 'COMPRESS-text', { ms_ratio: 0.375, bytes_ratio: 0.296 }),
      res('syncthing', 'COMPRESS-text-none', { ms: 9000, wire_bytes: 67_400_000 }),
      res('syncthing', 'COMPRESS-text-auto', { ms: 5000, wire_bytes: 33_000_000 }),
      res('syncthing', 'COMPRESS-text', { ms_ratio: 0.556, bytes_ratio: 0.49 }),
    ];
    const t = formatTable(compress, systems.slice(0, 2)).split('\n');
    const cells = (label: string) => t.find((l) => l.startsWith(`| ${label} |`))?.split(' | ').slice(1);
    expect(cells('COMPRESS text, slow link, none: time')).toEqual(['8.00 s', '9.00 s', '0.89× |']);
    expect(cells('COMPRESS text, slow link: time auto ÷ none')).toEqual(['0.38×', '0.56×', '– |']);
    expect(cells('COMPRESS text, slow link: bytes auto ÷ none')).toEqual(['0.30×', '0.49×', '– |']);
    expect(t.join('\n')).not.toContain('COMPRESS random');
  });
});

describe('formatReport', () => {
  const run: RunInfo = {
    title: 'Wizard benchmark, quick profile',
    command: 'npm run bench -- --quick --vs syncthing,rsync',
    machine: '2 vCPU test machine',
    started: '2026-11-25T00:00:00.000Z',
    durationS: 150,
    settings: 'seed 1',
    versions: ['wizard 0.1.0', 'syncthing v1.19.2', 'rsync 3.2.7'],
    sizes: 'SMALL 500 files',
    systems,
    configs: ['Syncthing: fsWatcherDelayS=1'],
  };

  it('puts the command, machine, versions and notes around the table', () => {
    const text = formatReport(run, sample);
    expect(text).toContain('- Command: `npm run bench -- --quick --vs syncthing,rsync`');
    expect(text).toContain('- Machine: 2 vCPU test machine');
    expect(text).toContain('took 2.5 min');
    expect(text).toContain('- Versions: wizard 0.1.0; syncthing v1.19.2; rsync 3.2.7');
    expect(text).toContain('- Syncthing: fsWatcherDelayS=1');
    expect(text).toContain(formatTable(sample, systems));
    expect(text).toContain('- wizard EDIT rep 1: timeout: B did not converge within 600 s');
  });
});

describe('runSuite', () => {
  it('alternates systems per repetition, rotating the order, and runs first-only groups once', async () => {
    const calls: string[] = [];
    const fake = (id: string, supported = true): Driver => ({
      id,
      label: id,
      supports: () => supported,
      runGroup: (group, rep) => {
        calls.push(`${id}:${group.name}:${rep}`);
        return Promise.resolve([res(id, group.name, { ms: rep })]);
      },
    });
    const groups = GROUPS.filter((g) => g.name === 'LAT' || g.name === 'SMALL');
    const results = await runSuite({ drivers: [fake('a'), fake('b'), fake('c', false)], groups, reps: 3, log: () => {} });
    expect(calls).toEqual(['a:LAT:1', 'b:LAT:1', 'a:SMALL:1', 'b:SMALL:1', 'b:SMALL:2', 'a:SMALL:2', 'a:SMALL:3', 'b:SMALL:3']);
    expect(results).toHaveLength(8);
    expect(orderFor([1, 2, 3], 2)).toEqual([2, 3, 1]);
  });

  it('runs a group with `only` on that system alone and gives every other system an n/a record saying so', async () => {
    const calls: string[] = [];
    const fake = (id: string): Driver => ({
      id,
      label: id,
      supports: () => true,
      runGroup: (group, rep) => {
        calls.push(`${id}:${group.name}:${rep}`);
        return Promise.resolve([res(id, 'SCALE-1M', { index_ms: 1 })]);
      },
    });
    const groups = GROUPS.filter((g) => g.name === 'SCALE1M');
    const results = await runSuite({ drivers: [fake('wizard'), fake('syncthing'), fake('rsync')], groups, reps: 3, log: () => {} });
    expect(calls).toEqual(['wizard:SCALE1M:1']);
    expect(results).toEqual([
      res('wizard', 'SCALE-1M', { index_ms: 1 }),
      res('syncthing', 'SCALE-1M', {}, { status: 'n/a', note: 'not run: Wizard alone' }),
      res('rsync', 'SCALE-1M', {}, { status: 'n/a', note: 'not run: Wizard alone' }),
    ]);
  });
});

describe('bench/run.mjs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const node = (args: string[]) => spawnSync(process.execPath, [runScript, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('prints the report of saved results with --from', () => {
    const file = path.join(dir, 'saved.json');
    const run: RunInfo = { title: 'saved', command: 'x', machine: 'm', started: 's', durationS: 60, settings: 's', versions: ['v'], sizes: 'z', systems };
    writeFileSync(file, JSON.stringify({ run, results: sample }));
    const r = node(['--from', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(formatReport(run, sample));
  });

  it('prints usage with --help', () => {
    const r = node(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('usage: npm run bench');
  });

  it('refuses a bad option with one line on stderr and exit code 2', () => {
    const r = node(['--quick', '--vs', 'dropbox']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["bench: --vs: unknown 'dropbox' (known: syncthing,rsync,floor)"]);
    expect(r.stdout).toBe('');
  });
});
