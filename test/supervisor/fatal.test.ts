import { describe, expect, it } from 'vitest';
import { WizardError } from '../../src/core/errors.js';
import { FatalError, fatalReason } from '../../src/supervisor/fatal.js';

const sqlite = (code: string) => Object.assign(new Error('sqlite says no'), { code });

describe('fatalReason', () => {
  it('is fatal for an unwritable index, also when the store wrapped the SQLite error', () => {
    expect(fatalReason(sqlite('SQLITE_READONLY'))).toMatch(/index database cannot be written \(SQLITE_READONLY\)/);
    const wrapped = new WizardError('INTERNAL', 'committing', { cause: sqlite('SQLITE_CANTOPEN') });
    expect(fatalReason(wrapped)).toMatch(/SQLITE_CANTOPEN/);
  });

  it('is fatal for a FatalError, with its message', () => {
    expect(fatalReason(new FatalError('home is gone'))).toBe('home is gone');
  });

  it('leaves every other error to a restart', () => {
    expect(fatalReason(sqlite('SQLITE_BUSY'))).toBeUndefined();
    expect(fatalReason(new Error('boom'))).toBeUndefined();
    expect(fatalReason('not even an error')).toBeUndefined();
  });
});
