/**
 * DiskNames and the lookups behind it (issue 15, item 12): an NFC index path
 * to its spelling on disk, on a real temp dir.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskNames, locate, otherSpelling, ownDiskName } from '../../src/index/disk-names.js';

const e = '\u00e9'; // é, composed (NFC)
const eD = 'e\u0301'; // é, decomposed (NFD)

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-disk-names-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('DiskNames', () => {
  it('spells each component as recorded, and the rest as given', () => {
    const names = new DiskNames([[`d${e}`, `d${eD}`]]);
    expect(names.onDisk(`d${e}/x/caf${e}`)).toBe(`d${eD}/x/caf${e}`);
    names.note([{ path: `d${e}/x/caf${e}`, deleted: false, diskName: `caf${eD}` }]);
    expect(names.onDisk(`d${e}/x/caf${e}`)).toBe(`d${eD}/x/caf${eD}`);
    expect(names.onDisk('plain/a.txt')).toBe('plain/a.txt');
    // Stored without a name (its NFC one), or deleted: forgotten.
    names.note([{ path: `d${e}/x/caf${e}`, deleted: false }, { path: `d${e}`, deleted: true, diskName: `d${eD}` }]);
    expect(names.onDisk(`d${e}/x/caf${e}`)).toBe(`d${e}/x/caf${e}`);
  });

  it('ownDiskName is the last component only when it is spelled otherwise', () => {
    expect(ownDiskName(`d${e}/a`, `d${eD}/a`)).toBe('');
    expect(ownDiskName(`a/caf${e}`, `a/caf${eD}`)).toBe(`caf${eD}`);
    expect(ownDiskName('a', undefined)).toBe('');
  });
});

describe('locate', () => {
  it('finds the NFD spelling of a dir and a file below it that the index does not know', async () => {
    mkdirSync(path.join(root, `d${eD}`));
    writeFileSync(path.join(root, `d${eD}`, `caf${eD}`), 'x');
    expect(await locate(root, `d${e}/caf${e}`, `d${e}/caf${e}`)).toEqual({ disk: `d${eD}/caf${eD}` });
    expect(await locate(root, `d${e}/gone${e}`, `d${e}/gone${e}`)).toBeUndefined();
  });

  it('takes the recorded spelling when it is there, the NFC one when the file was renamed to it', async () => {
    writeFileSync(path.join(root, `caf${eD}`), 'x');
    expect(await locate(root, `caf${e}`, `caf${eD}`)).toEqual({ disk: `caf${eD}` });
    rmSync(path.join(root, `caf${eD}`));
    writeFileSync(path.join(root, `caf${e}`), 'x');
    expect(await locate(root, `caf${e}`, `caf${eD}`)).toEqual({ disk: `caf${e}` });
  });

  it('reports two spellings, neither NFC, as a clash', async () => {
    // The same NFC name in NFD and with its two accents in the other order.
    writeFileSync(path.join(root, 'a\u0323\u0302'), 'x');
    writeFileSync(path.join(root, 'a\u0302\u0323'), 'y');
    expect(await locate(root, 'a\u0323\u0302'.normalize('NFC'), 'a\u0323\u0302'.normalize('NFC'))).toEqual({ clash: expect.arrayContaining(['a\u0323\u0302', 'a\u0302\u0323']) as string[] });
  });

  it('does no listing for an ASCII path', async () => {
    expect(await locate(path.join(root, 'no-such-root'), 'a/b.txt', 'a/b.txt')).toEqual({ disk: 'a/b.txt' });
  });
});

describe('otherSpelling', () => {
  it('names the NFD file beside which a new NFC one would be a second file of one name', () => {
    writeFileSync(path.join(root, `caf${eD}`), 'x');
    expect(otherSpelling(root, `caf${e}`)).toBe(`caf${eD}`);
    expect(otherSpelling(root, `caf${eD}`)).toBeUndefined();
    expect(otherSpelling(root, 'plain.txt')).toBeUndefined();
  });
});
