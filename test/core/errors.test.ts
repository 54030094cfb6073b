/**
 * describeError: one line per error, with an errno or SQLite code named
 * exactly once (issue 15, item 13; issue 20's `ENOENT: ENOENT:`).
 */
import { mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError, WizardError } from '../../src/core/errors.js';

/** What `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('describeError', () => {
  const file = path.join(os.tmpdir(), `wizard-errors-${process.pid}`);
  writeFileSync(file, 'x');
  afterAll(() => rmSync(file, { force: true }));

  const cases: Array<{ what: string; err: () => unknown; want: string | RegExp }> = [
    { what: 'a mkdir over a file (node puts EEXIST in the message)', err: () => thrown(() => mkdirSync(file, { recursive: true })), want: `EEXIST: file already exists, mkdir '${file}'` },
    { what: 'an open below a file', err: () => thrown(() => openSync(path.join(file, 'x'), 'r')), want: `ENOTDIR: not a directory, open '${path.join(file, 'x')}'` },
    { what: 'an error whose message names its code mid-sentence', err: () => Object.assign(new Error(`connect ENOENT ${file}`), { code: 'ENOENT' }), want: `connect ENOENT ${file}` },
    { what: 'a SQLite error, whose message lacks its code', err: () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), want: 'SQLITE_FULL: database or disk is full' },
    { what: 'a code that is only part of a word in the message', err: () => Object.assign(new Error('EIOX happened'), { code: 'EIO' }), want: 'EIO: EIOX happened' },
    { what: 'a WizardError: the message is for the user as it is', err: () => new WizardError('CONFIG', 'bad config'), want: 'bad config' },
    { what: 'a thrown string', err: () => 'plain', want: 'plain' },
  ];
  it.each(cases)('$what', ({ err, want }) => {
    expect(describeError(err())).toBe(want);
  });

  it('names the code of a refused socket connection once', async () => {
    const err = await new Promise<unknown>((resolve) => net.connect(path.join(file, 'sock')).on('error', resolve));
    expect(describeError(err)).toMatch(/^connect ENOTDIR /);
  });
});
