import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { PendingIntroductions } from '../../src/trust/pending-introductions.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const log = createLogger('silent');
const peer = (c: string) => ({ id: c.repeat(64), name: `n${c}`, address: '10.0.0.9:7842', folders: ['docs'] });

function home(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-intro-'));
  dirs.push(dir);
  return dir;
}

describe('introductions waiting for a peer', () => {
  it('survive a restart of the inviter, owner-only, and are handed out once', () => {
    const file = PendingIntroductions.pathIn(home());
    const before = new PendingIntroductions(file, log);
    before.add('a'.repeat(64), peer('b'));
    before.add('a'.repeat(64), peer('c'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const after = new PendingIntroductions(file, log);
    expect(after.take('a'.repeat(64))).toEqual([peer('b'), peer('c')]);
    expect(new PendingIntroductions(file, log).take('a'.repeat(64))).toEqual([]);
  });

  it('reads a damaged or hand-edited file as nothing waiting, never as a malformed introduction', () => {
    const file = PendingIntroductions.pathIn(home());
    writeFileSync(file, JSON.stringify({ ['a'.repeat(64)]: [{ ...peer('b'), address: 'x y' }] }));
    expect(new PendingIntroductions(file, log).take('a'.repeat(64))).toEqual([]);
  });
});
