/**
 * What `wizard pair ARG` takes as a LAN name, and what it says when no daemon
 * runs to ask (the daemon's own answers are tested in test/e2e/lan-discovery.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayNameLanNode, resolvePairTarget } from '../../src/cli/lan-target.js';
import type { LanLookup } from '../../src/discovery/lan-discovery.js';
import { controlSocketPath, serveControl } from '../../src/status/control.js';

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

describe('resolvePairTarget, asking a daemon', () => {
  const idB = 'b'.repeat(64);
  const idC = 'c'.repeat(64);
  /** A control socket that answers lan-lookup with `reply` and records the names asked. */
  async function daemonAnswering(reply: LanLookup) {
    const home = mkdtempSync(path.join(os.tmpdir(), 'wz-lan-target-'));
    const asked: string[] = [];
    const server = await serveControl(controlSocketPath(home), (req) => {
      if (req.cmd === 'lan-lookup') asked.push(req.name);
      return Promise.resolve(reply);
    });
    return { home, asked, close: async () => {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    } };
  }
  const node = (id: string, name: string, address: string) => ({ id, name, address, seenAtMs: 0 });

  it('one node seen: its address, with its announced ID to pin', async () => {
    const d = await daemonAnswering({ enabled: true, nodes: [node(idB, 'beta', '192.0.2.7:7842')] });
    expect(await resolvePairTarget(d.home, 'beta', () => Promise.resolve(true))).toEqual({ address: '192.0.2.7:7842', expectedId: idB, lanName: 'beta' });
    expect(d.asked).toEqual(['beta']);
    await d.close();
  });

  it('two nodes claiming the name: one line naming both (escaped), asking for the short ID or host:port', async () => {
    const d = await daemonAnswering({ enabled: true, nodes: [node(idB, 'desk', '192.0.2.7:7842'), node(idC, 'desk\u001b[2J', '192.0.2.66:7842')] });
    const err = await resolvePairTarget(d.home, 'desk', () => Promise.resolve(true)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'USAGE', message: '2 nodes named desk on the LAN (desk bbbbbbbb at 192.0.2.7:7842, desk\\x1b[2J cccccccc at 192.0.2.66:7842); give its short ID or host:port' });
    await d.close();
  });

  it('none seen: the one-line error, or that discovery is off here', async () => {
    const on = await daemonAnswering({ enabled: true, nodes: [] });
    await expect(resolvePairTarget(on.home, 'gamma', () => Promise.resolve(false))).rejects.toThrow(/^no node named gamma seen on the LAN in the last 90 s; give its host:port$/);
    await on.close();
    const off = await daemonAnswering({ enabled: false, nodes: [] });
    await expect(resolvePairTarget(off.home, 'gamma', () => Promise.resolve(false))).rejects.toThrow(/^no host named gamma, and LAN discovery is off here \(discovery.lan in config.yaml\); give its host:port$/);
    await off.close();
  });
});

