/** Which of the watcher's changed paths the folder asks its scan to look at (scan/watched-changes.ts). */
import { describe, expect, it } from 'vitest';
import { pathsToScan } from '../../src/sync/scan/watched-changes.js';

const asIs = (rel: string) => rel;
const never = () => false;

describe('pathsToScan', () => {
  it("leaves out Wizard's own files and the echo of a pull, and names each path once", () => {
    const echo = new Set(['landed.txt']);
    expect(pathsToScan(['a.txt', '.wizard/index.db', '.wizard', 'docs/.~wizard-1234.tmp', 'landed.txt', 'a.txt'], (p) => echo.has(p), asIs)).toEqual(['a.txt']);
    expect(pathsToScan(['landed.txt'], never, asIs)).toEqual(['landed.txt']);
  });

  it('asks for the dir of a name spelled otherwise than the index has it, or not UTF-8, and for the NFC path of one spelled as recorded', () => {
    const nfd = 'docs/Cafe\u0301.txt';
    const nfc = 'docs/Café.txt';
    // A new name from a Mac: its NFD spelling is not how the index would record it, so its dir is listed.
    expect(pathsToScan([nfd], never, asIs)).toEqual(['docs']);
    // A known path recorded under its NFD spelling on disk: the NFC path is scanned.
    expect(pathsToScan([nfd], never, (rel) => (rel === nfc ? nfd : rel))).toEqual([nfc]);
    expect(pathsToScan(['bad/\uFFFD.txt', 'bad/ok.txt'], never, asIs)).toEqual(['bad', 'bad/ok.txt']);
  });
});
