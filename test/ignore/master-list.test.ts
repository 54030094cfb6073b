import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_IGNORE_BYTES, readMasterIgnore, writeMasterIgnore } from '../../src/ignore/master-list.js';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});
const home = () => {
  const h = mkdtempSync(path.join(os.tmpdir(), 'wizard-ignore-'));
  homes.push(h);
  return h;
};

describe('the master ignore list as the web page writes it', () => {
  it('writes the list whole, owner-only, ending in a newline, and reads it back', () => {
    const h = home();
    expect(readMasterIgnore(h)).toBe('');
    expect(writeMasterIgnore(h, '# mine\n*.tmp\n\nbuild/')).toEqual({ lines: 2 });
    expect(readFileSync(path.join(h, 'ignore'), 'utf8')).toBe('# mine\n*.tmp\n\nbuild/\n');
    expect(statSync(path.join(h, 'ignore')).mode & 0o777).toBe(0o600);
    expect(readMasterIgnore(h)).toBe('# mine\n*.tmp\n\nbuild/\n');
  });

  it('refuses a list with a NUL byte or over the size cap, and leaves the file as it was', () => {
    const h = home();
    writeMasterIgnore(h, '*.tmp\n');
    expect(() => writeMasterIgnore(h, '*.tmp\nbad\0line\n')).toThrow('line 2 of the ignore list holds a NUL byte; it must be text');
    expect(() => writeMasterIgnore(h, 'x'.repeat(MAX_IGNORE_BYTES + 1))).toThrow(/is over 256 KiB/);
    expect(readMasterIgnore(h)).toBe('*.tmp\n');
  });
});
