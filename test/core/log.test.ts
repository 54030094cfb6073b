/**
 * The daemon logger's hot level change reaches children made before it, and
 * --pretty lines are readable and escaped.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDaemonLogger } from '../../src/core/log.js';
import { prettyLine } from '../../src/core/pretty.js';

describe('createDaemonLogger', () => {
  it('applies a new level to children created earlier', () => {
    const sink = new PassThrough();
    let written = '';
    sink.on('data', (d: Buffer) => (written += d.toString()));
    const { log, setLevel } = createDaemonLogger('info', sink);
    const child = log.child({ part: 'folder' });
    child.debug('hidden at info');
    setLevel('debug');
    child.debug('shown at debug');
    setLevel('error');
    child.warn('hidden at error');
    const msgs = written.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(['shown at debug']);
  });
});

describe('prettyLine', () => {
  const cases: Array<{ what: string; json: string; want: string }> = [
    {
      what: 'time, level, where, message and fields',
      json: JSON.stringify({ level: 30, time: '2026-11-25T09:30:00.123Z', pid: 1, folder: 'docs', msg: 'purged old trash', entries: 3 }),
      want: '09:30:00.123 INFO  [docs] purged old trash entries=3',
    },
    {
      what: 'control characters in a peer name are escaped',
      json: JSON.stringify({ level: 40, time: '2026-11-25T09:30:00.123Z', peer: 'ab\u001b[31m', msg: 'x', name: 'e\u0007vil' }),
      want: '09:30:00.123 WARN  [ab\\x1b[31m] x name=e\\x07vil',
    },
    { what: 'a line that is not JSON passes through escaped', json: 'oops\u001b', want: 'oops\\x1b' },
  ];
  it.each(cases)('$what', ({ json, want }) => {
    expect(prettyLine(json, false)).toBe(want);
  });
});
