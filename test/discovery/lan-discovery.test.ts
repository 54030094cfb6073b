/**
 * The node's side of discovery without sockets: a forged announcement (the
 * peer's ID from another address) costs one refused dial and the real
 * address still links; the address that linked is tried first next time; a
 * peer with no address that was never seen is not dialed at all; turning
 * discovery off stops the service and forgets what was seen.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WizardError } from '../../src/core/errors.js';
import { encodeAnnouncement } from '../../src/discovery/announcement.js';
import { LAN_SERVICE, LanDiscovery } from '../../src/discovery/lan-discovery.js';
import { Sightings } from '../../src/discovery/sightings.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { FakeClock } from '../support/clock.js';

const self = 'a'.repeat(64);
const peerId = 'b'.repeat(64);

function harness() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const log = pino({ level: 'silent' });
  const supervisor = new Supervisor({ clock, log, random: () => 0.5, onFatal: () => undefined });
  const sightings = new Sightings(self, () => clock.now());
  const config = { lan: true };
  // No interface: the service binds its socket but has nowhere to announce.
  const lan = new LanDiscovery({ supervisor, clock, log, selfId: self, name: () => 'alpha', listenPort: () => 7842, enabled: () => config.lan, onFound: () => undefined, interfaces: () => ({}), udpPort: 0, sightings });
  return { clock, supervisor, sightings, config, lan };
}

describe('LanDiscovery', () => {
  it('a forged announcement of the peer costs one refused dial; the real address links and is tried first next time', async () => {
    const { sightings, lan } = harness();
    sightings.hear(encodeAnnouncement({ id: peerId, port: 7842, name: 'beta' }), '192.0.2.10');
    sightings.hear(encodeAnnouncement({ id: peerId, port: 9999, name: 'beta' }), '192.0.2.66');
    const peer = { id: peerId, name: 'beta', address: '' };
    const tried: string[] = [];
    // As transport/tls.ts's dial with expectedId does (test/transport/tls.test.ts): another node's certificate is refused.
    const dialAt = (address: string) => {
      tried.push(address);
      return address === '192.0.2.10:7842' ? Promise.resolve() : Promise.reject(new WizardError('PEER_AUTH', `peer at ${address} presented ID cccc, expected bbbb`));
    };
    await lan.dialEach(peer, new AbortController().signal, dialAt);
    expect(tried).toEqual(['192.0.2.66:9999', '192.0.2.10:7842']);
    tried.length = 0;
    await lan.dialEach(peer, new AbortController().signal, dialAt);
    expect(tried).toEqual(['192.0.2.10:7842']);
  });

  it('every address failing rejects with the first failure; no address at all is UNREACHABLE without a dial', async () => {
    const { lan } = harness();
    const err = await lan.dialEach({ id: peerId, name: 'beta', address: '' }, new AbortController().signal, () => Promise.reject(new Error('not dialed'))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining('no address in config.yaml and was not seen on the LAN') as unknown });
    const refused = await lan.dialEach({ id: peerId, name: 'beta', address: '192.0.2.1:1' }, new AbortController().signal, (a) => Promise.reject(new Error(`refused ${a}`))).catch((e: unknown) => e);
    expect(refused).toMatchObject({ message: 'refused 192.0.2.1:1' });
  });

  it('off stops the service and forgets the sightings; status says why; on starts it again', async () => {
    const { supervisor, sightings, config, lan } = harness();
    lan.apply();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(supervisor.status().find((s) => s.name === LAN_SERVICE)?.state).toBe('running');
    expect(lan.status()).toMatchObject({ state: 'idle', reason: 'no network interface with an IPv4 broadcast address' });
    sightings.hear(encodeAnnouncement({ id: peerId, port: 7842, name: 'beta' }), '192.0.2.10');
    expect(lan.lookup('beta')).toMatchObject({ enabled: true, nodes: [{ id: peerId, name: 'beta', address: '192.0.2.10:7842' }] });
    expect(lan.peerStatus(peerId)).toEqual({ lan: { address: '192.0.2.10:7842', seenAtMs: Date.UTC(2026, 0, 1) } });
    config.lan = false;
    lan.apply();
    expect(supervisor.has(LAN_SERVICE)).toBe(false);
    expect(lan.status()).toMatchObject({ state: 'off', reason: 'discovery.lan is false in config.yaml', seen: 0 });
    expect(lan.lookup('beta')).toEqual({ enabled: false, nodes: [] });
    expect(lan.peerStatus(peerId)).toEqual({});
    config.lan = true;
    lan.apply();
    expect(supervisor.has(LAN_SERVICE)).toBe(true);
    await lan.stop();
  });
});
