/**
 * The sightings cache: expiry, bounds, a rate limit per sender, forged
 * announcements beside (not over) the real one, and counters of what was dropped.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { encodeAnnouncement } from '../../src/discovery/announcement.js';
import { Sightings } from '../../src/discovery/sightings.js';
import { dialCandidates, nodesNamed } from '../../src/discovery/candidates.js';
import { broadcastTargets, ipv4Addresses } from '../../src/discovery/broadcast-targets.js';

const self = '0'.repeat(63) + '1';
const idOf = (n: number) => n.toString(16).padEnd(64, 'a');
const packet = (n: number, name = `node${n}`, port = 7842) => encodeAnnouncement({ id: idOf(n), port, name });

function cache(opts = {}) {
  const clock = { ms: 1_000_000 };
  return { clock, sightings: new Sightings(self, () => clock.ms, opts) };
}

describe('Sightings', () => {
  it('records a node, refreshes it, notices a move, and forgets it after 90 s', () => {
    const { clock, sightings } = cache();
    expect(sightings.hear(packet(1), '192.0.2.10')).toMatchObject({ outcome: 'new' });
    clock.ms += 30_000;
    expect(sightings.hear(packet(1), '::ffff:192.0.2.10')).toMatchObject({ outcome: 'refreshed' });
    clock.ms += 30_000;
    expect(sightings.hear(packet(1), '192.0.2.11')).toMatchObject({ outcome: 'moved' });
    expect(sightings.addressesOf(idOf(1)).map((s) => s.host)).toEqual(['192.0.2.11', '192.0.2.10']);
    clock.ms += 60_001;
    expect(sightings.addressesOf(idOf(1)).map((s) => s.host)).toEqual(['192.0.2.11']);
    clock.ms += 30_000;
    expect(sightings.addressesOf(idOf(1))).toEqual([]);
    expect(sightings.list()).toEqual([]);
  });

  it('drops its own announcement echoed back, and counts hostile packets by reason without throwing', () => {
    const { sightings } = cache();
    expect(sightings.hear(encodeAnnouncement({ id: self, port: 1, name: 'me' }), '192.0.2.1')).toEqual({ outcome: 'dropped', reason: 'self' });
    expect(sightings.hear(Buffer.from('hello'), '192.0.2.2')).toEqual({ outcome: 'dropped', reason: 'short' });
    expect(sightings.hear(Buffer.alloc(2000), '192.0.2.3')).toEqual({ outcome: 'dropped', reason: 'long' });
    const wrongMagic = Buffer.from(packet(1));
    wrongMagic[0] = 0;
    expect(sightings.hear(wrongMagic, '192.0.2.4')).toEqual({ outcome: 'dropped', reason: 'magic' });
    const zeroId = Buffer.from(packet(1));
    zeroId.fill(0, 5, 37);
    expect(sightings.hear(zeroId, '192.0.2.5')).toEqual({ outcome: 'dropped', reason: 'id' });
    expect(sightings.counts()).toEqual({ heard: 5, accepted: 0, dropped: { self: 1, short: 1, long: 1, magic: 1, id: 1 } });
    expect(sightings.list()).toEqual([]);
  });

  it('a flood from one sender is cut to its burst and then one packet per 5 s, and other senders still get through', () => {
    const { clock, sightings } = cache();
    const outcomes = Array.from({ length: 10_000 }, (_, i) => sightings.hear(packet(i + 2), '192.0.2.66').outcome);
    expect(outcomes.filter((o) => o !== 'dropped')).toHaveLength(4);
    expect(sightings.counts().dropped.rate).toBe(9_996);
    expect(sightings.list()).toHaveLength(4);
    expect(sightings.hear(packet(1), '192.0.2.10')).toMatchObject({ outcome: 'new' });
    clock.ms += 5_000;
    expect(sightings.hear(packet(99_999), '192.0.2.66')).toMatchObject({ outcome: 'new' });
    expect(sightings.hear(packet(99_998), '192.0.2.66')).toEqual({ outcome: 'dropped', reason: 'rate' });
  });

  it('stays within its bounds when many senders announce many nodes', () => {
    const { sightings } = cache({ maxNodes: 50, maxSenders: 100 });
    for (let i = 0; i < 5_000; i++) sightings.hear(packet(i + 2), `10.0.${i >> 8}.${i & 255}`);
    expect(sightings.list()).toHaveLength(50);
    // The newest stay: the oldest updated were evicted first.
    expect(sightings.addressesOf(idOf(5_001))).toHaveLength(1);
    expect(sightings.addressesOf(idOf(2))).toHaveLength(0);
  });

  it('a forged announcement of a known ID adds an address beside the real one, at most four per node', () => {
    const { sightings } = cache();
    sightings.hear(packet(1, 'laptop'), '192.0.2.10');
    sightings.hear(packet(1, 'laptop', 9999), '192.0.2.66');
    expect(sightings.addressesOf(idOf(1)).map((s) => `${s.host}:${s.port}`)).toEqual(['192.0.2.66:9999', '192.0.2.10:7842']);
    for (let i = 0; i < 10; i++) sightings.hear(packet(1, 'laptop', 100 + i), `192.0.3.${i}`);
    expect(sightings.addressesOf(idOf(1))).toHaveLength(4);
  });
});

describe('dialCandidates', () => {
  const seen = (host: string, port = 7842) => ({ id: idOf(1), name: 'x', host, port, seenAtMs: 0 });
  it('tries the configured address, then where the peer was seen, newest first, each once', () => {
    expect(dialCandidates({ configured: '192.0.2.1:7842', seen: [seen('192.0.2.9'), seen('192.0.2.1')] })).toEqual(['192.0.2.1:7842', '192.0.2.9:7842']);
    expect(dialCandidates({ configured: '', seen: [seen('fe80::1', 7000)] })).toEqual(['[fe80::1]:7000']);
    expect(dialCandidates({ configured: '', seen: [] })).toEqual([]);
  });
  it('puts the address that last worked first, but only while it is configured or still seen', () => {
    expect(dialCandidates({ configured: 'old:1', seen: [seen('192.0.2.9')], lastGood: '192.0.2.9:7842' })).toEqual(['192.0.2.9:7842', 'old:1']);
    expect(dialCandidates({ configured: 'old:1', seen: [], lastGood: '192.0.2.9:7842' })).toEqual(['old:1']);
  });
});

describe('nodesNamed', () => {
  const s = (n: number, name: string) => ({ id: idOf(n), name, host: '192.0.2.1', port: 1, seenAtMs: 0 });
  const all = [s(1, 'laptop'), s(2, 'Desk'), s(3, 'desk'), s(0xbeef, 'nas')];
  it('matches a name exactly, then in another case, then an ID prefix of six or more hex digits', () => {
    expect(nodesNamed(all, 'laptop').map((x) => x.name)).toEqual(['laptop']);
    expect(nodesNamed(all, 'desk').map((x) => x.name)).toEqual(['desk']);
    expect(nodesNamed(all, 'LAPTOP').map((x) => x.name)).toEqual(['laptop']);
    expect(nodesNamed(all, 'DESK')).toHaveLength(2);
    expect(nodesNamed(all, idOf(0xbeef).slice(0, 8)).map((x) => x.name)).toEqual(['nas']);
    expect(nodesNamed(all, 'aaaaa')).toEqual([]);
    expect(nodesNamed(all, 'printer')).toEqual([]);
  });
});

describe('broadcastTargets', () => {
  it("takes each IPv4 interface's subnet broadcast address; skips loopback, IPv6 and /32", () => {
    const info = (address: string, netmask: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false): NetworkInterfaceInfo =>
      family === 'IPv4' ? { address, netmask, family, internal, mac: '', cidr: null } : { address, netmask, family, internal, mac: '', cidr: null, scopeid: 0 };
    const ifs = {
      lo: [info('127.0.0.1', '255.0.0.0', 'IPv4', true)],
      eth0: [info('192.168.1.23', '255.255.255.0'), info('fe80::1', 'ffff:ffff:ffff:ffff::', 'IPv6')],
      wg0: [info('10.9.0.2', '255.255.255.255')],
      br0: [info('192.0.2.130', '255.255.255.128'), info('192.168.1.40', '255.255.255.0')],
    };
    expect(broadcastTargets(ifs)).toEqual(['192.0.2.255', '192.168.1.255']);
    expect(ipv4Addresses(ifs)).toEqual(['10.9.0.2', '192.0.2.130', '192.168.1.23', '192.168.1.40']);
  });
});
