/**
 * AppliedLog: what a folder took from its peers, one info line per window
 * (issue 20, item 8): a burst is counts and the first few paths, a change
 * that moved no content is not a change, and an arriving conflict copy has a
 * line of its own.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { APPLIED_WINDOW_MS, AppliedLog } from '../../src/sync/pull/applied-log.js';

function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const timers: Array<{ ms: number; fn: () => void }> = [];
  const applied = new AppliedLog({ log: pino({ level: 'info' }, sink), after: (ms, fn) => timers.push({ ms, fn }) });
  // pino writes to a stream: give it a turn before reading the lines.
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { applied, lines, timers, settle };
}

const file = (path: string, over: Partial<FileEntry> = {}): FileEntry => ({
  path, type: 'file', size: 3, mtimeMs: 1, mode: 0o644, hash: `h-${path}`, target: '', version: { p: 1 }, deleted: false, sequence: 1, ...over,
});

it('sums up a burst of 10,000 new files as one line: counts and the first five paths', async () => {
  const { applied, lines, timers, settle } = setup();
  for (let batch = 0; batch < 100; batch++) {
    applied.note(Array.from({ length: 100 }, (_, i) => ({ entry: file(`build/f${batch * 100 + i}.o`), before: undefined })));
  }
  expect(timers.map((t) => t.ms)).toEqual([APPLIED_WINDOW_MS]);
  await settle();
  expect(lines).toEqual([]);
  timers[0]?.fn();
  await settle();
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 30, msg: 'applied 10000 changes from peers', added: 10000, changed: 0, deleted: 0, more: 9995 });
  expect(lines[0]?.paths).toEqual(['build/f0.o', 'build/f1.o', 'build/f2.o', 'build/f3.o', 'build/f4.o']);
});

it('counts changed and deleted files, and leaves out entries whose content did not change (a merged version)', async () => {
  const { applied, lines, timers, settle } = setup();
  applied.note([
    { entry: file('edited.txt', { hash: 'new' }), before: file('edited.txt', { hash: 'old' }) },
    { entry: file('gone.txt', { deleted: true, hash: '', size: 0 }), before: file('gone.txt') },
    { entry: file('merged.txt', { version: { p: 1, q: 1 } }), before: file('merged.txt') },
    { entry: file('chmod.sh', { mode: 0o755 }), before: file('chmod.sh') },
  ]);
  timers[0]?.fn();
  await settle();
  expect(lines).toEqual([expect.objectContaining({ msg: 'applied 3 changes from peers', added: 0, changed: 2, deleted: 1, paths: ['edited.txt', 'gone.txt', 'chmod.sh'] })]);
  expect(lines[0]).not.toHaveProperty('more');
});

it('says "1 change", writes nothing for a window with no change, and starts a new window after a line', async () => {
  const { applied, lines, timers, settle } = setup();
  applied.note([{ entry: file('same.txt', { version: { p: 2 } }), before: file('same.txt') }]);
  expect(timers).toHaveLength(0);
  applied.flush();
  applied.note([{ entry: file('one.txt'), before: undefined }]);
  applied.flush();
  applied.note([{ entry: file('two.txt'), before: undefined }]);
  expect(timers).toHaveLength(2);
  await settle();
  expect(lines.map((l) => l.msg)).toEqual(['applied 1 change from peers']);
});

it('warns when a conflict copy arrives from a peer', async () => {
  const { applied, lines, settle } = setup();
  applied.note([{ entry: file('notes.sync-conflict-20261207-010203-laptop-abcdef1.txt'), before: undefined }]);
  applied.flush();
  await settle();
  expect(lines[0]).toMatchObject({ level: 40, path: 'notes.sync-conflict-20261207-010203-laptop-abcdef1.txt', msg: "conflict copy arrived: another machine kept its losing edit beside the file (see 'wizard conflicts')" });
  expect(lines[1]).toMatchObject({ msg: 'applied 1 change from peers', added: 1 });
});
