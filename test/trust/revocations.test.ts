import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCa } from '../../src/certs/ca.js';
import { writeCa, writeCaCert } from '../../src/certs/store.js';
import { createLogger } from '../../src/core/log.js';
import { Revocations, revocationsPath } from '../../src/trust/revocations.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const ca = createCa('Wizard CA', new Date());
const log = createLogger('silent');
const id = (c: string) => c.repeat(64);

/** A home with the CA key (a signing node) or only its certificate. */
function home(withKey: boolean): { home: string; certsDir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-revocations-'));
  dirs.push(dir);
  const certsDir = path.join(dir, 'certs');
  mkdirSync(certsDir);
  if (withKey) writeCa(certsDir, ca);
  else writeCaCert(certsDir, ca.certPem);
  return { home: dir, certsDir };
}
const open = (h: { home: string; certsDir: string }) => new Revocations({ ...h, caPem: ca.certPem, now: () => 1000, log });

describe('the revocation list a node holds', () => {
  it('on the CA node: each revocation is a new version, on disk (0600) before it is held, and read back after a restart', () => {
    const h = home(true);
    const r = open(h);
    expect(r.revoke([id('a')]).list.version).toBe(1);
    expect(r.revoke([id('b')]).list).toMatchObject({ version: 2, revoked: [id('a'), id('b')] });
    expect(statSync(revocationsPath(h.home)).mode & 0o777).toBe(0o600);
    const restarted = open(h);
    expect([restarted.has(id('a')), restarted.has(id('b')), restarted.has(id('c'))]).toEqual([true, true, false]);
  });

  it('on another node: cannot sign, takes a newer list from a peer (kept across a restart), and ignores a rollback', () => {
    const signer = open(home(true));
    const v1 = signer.revoke([id('a')]);
    const v2 = signer.revoke([id('b')]);
    const h = home(false);
    const r = open(h);
    expect(r.canSign()).toBe(false);
    expect(() => r.revoke([id('c')])).toThrow(/does not hold the CA key/);
    expect(r.offer(v2.bytes, v2.signature)).toBe('newer');
    expect(r.offer(v1.bytes, v1.signature)).toBe('older');
    expect(open(h).current?.list.version).toBe(2);
  });

  it('ignores a file edited by hand: a list on disk proves itself as a peer\'s would', () => {
    const h = home(true);
    open(h).revoke([id('a')]);
    const file = revocationsPath(h.home);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { list: string; signature: string };
    const edited = Buffer.from(stored.list, 'base64').toString().replace(id('a'), id('d'));
    writeFileSync(file, JSON.stringify({ ...stored, list: Buffer.from(edited).toString('base64') }));
    const r = open(h);
    expect([r.current, r.has(id('d'))]).toEqual([undefined, false]);
  });
});
