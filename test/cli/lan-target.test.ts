/**
 * What `wizard pair ARG` takes as a LAN name, and what it says when no daemon
 * runs to ask (the daemon's own answers are tested in test/e2e/lan-discovery.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayNameLanNode, resolvePairTarget } from '../../src/cli/lan-target.js';

describe('mayNameLanNode', () => {
  it('a bare word may name a node; an address, an IP or a dotted host name is dialed as given', () => {
    for (const arg of ['laptop', 'nas-2', 'deadbeef', 'Büro']) expect(mayNameLanNode(arg), arg).toBe(true);
    for (const arg of ['laptop:7842', '192.0.2.1', '::1', '[fe80::1]:7842', 'laptop.lan', 'laptop.local:1', '']) expect(mayNameLanNode(arg), arg).toBe(false);
  });
});

describe('resolvePairTarget', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'wz-lan-target-'));
  it('passes an address through without asking anyone', async () => {
    expect(await resolvePairTarget(home, '192.0.2.1:7842', () => Promise.reject(new Error('not asked')))).toEqual({ address: '192.0.2.1:7842' });
  });
  it('with no daemon running, a name that resolves (localhost, /etc/hosts) is dialed as before', async () => {
    expect(await resolvePairTarget(home, 'localhost', () => Promise.resolve(true))).toEqual({ address: 'localhost' });
  });
  it('with no daemon running, a name that does not resolve is a one-line usage error saying why', async () => {
    const err = await resolvePairTarget(home, 'laptop', () => Promise.resolve(false)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'USAGE', message: 'cannot look laptop up on the LAN: no Wizard daemon runs here to hear announcements (start it), or give its host:port' });
    rmSync(home, { recursive: true, force: true });
  });
});
