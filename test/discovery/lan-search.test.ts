/**
 * The joiner's LAN search with real UDP on loopback (127.255.255.255 given as
 * an interface's broadcast address, as lan-service.test.ts does): its query
 * makes a running node announce at once (the node's own interval is a
 * minute, and its start announcement went out before the search listened),
 * the search hands the node on once, drops what is not an announcement, and
 * a search on the port of a running node shares it (SO_REUSEADDR).
 */
import dgram from 'node:dgram';
import type { NetworkInterfaceInfo } from 'node:os';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { encodeQuery, isQuery } from '../../src/discovery/announcement.js';
import { LanSearch } from '../../src/discovery/lan-search.js';
import { LanService } from '../../src/discovery/lan-service.js';
import { Sightings } from '../../src/discovery/sightings.js';

const idA = 'a'.repeat(64);
const log = pino({ level: 'silent' });
const loopback: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', internal: false, mac: '', cidr: '127.0.0.1/8' }] };

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  s.close();
  return port;
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe('LanSearch', () => {
  it("is answered at once by a running node, hears it once, and shares the node's port", async () => {
    const udpPort = await freeUdpPort();
    const service = new LanService(
      { clock: systemClock, log, selfId: idA, name: () => 'alpha', listenPort: () => 7842, interfaces: () => loopback, udpPort, sightings: new Sightings(idA, () => Date.now()), onFound: () => undefined },
      { intervalMs: 60_000, secondMs: 60_000, pollMs: 60_000, minGapMs: 10 },
    );
    await service.start((err) => {
      throw err;
    });
    closers.push(() => service.stop());
    expect(service.state().announcements).toBe(1);
    const search = new LanSearch({ clock: systemClock, interfaces: () => loopback, udpPort });
    await search.start();
    closers.push(() => search.close());
    const found = await search.next(Date.now() + 5_000);
    expect(found).toMatchObject({ id: idA, name: 'alpha', host: '127.0.0.1', port: 7842 });
    // Only the query explains it: the node's next own announcement is a minute away.
    expect(service.state().queries).toBeGreaterThanOrEqual(1);
    expect(service.state().announcements).toBeGreaterThanOrEqual(2);
    // Its later announcements (the search's next queries) are refreshes, not news; a close ends the wait at once.
    const waiting = search.next(Date.now() + 60_000);
    search.close();
    expect(await waiting).toBeUndefined();
  });

  it('a query is five exact bytes: anything longer or altered is not one, and an announcement decoder drops it', () => {
    const q = encodeQuery();
    expect(q.toString('hex')).toBe('575a4c5101');
    expect(isQuery(q)).toBe(true);
    expect(isQuery(Buffer.concat([q, Buffer.of(0)]))).toBe(false);
    expect(isQuery(Buffer.from('575a4c5102', 'hex'))).toBe(false);
    expect(new Sightings(idA, () => 0).hear(q, '192.0.2.1')).toEqual({ outcome: 'dropped', reason: 'short' });
  });

  it('says why it heard nothing when no query could go out (no IPv4 network), and says nothing once one has', async () => {
    const onlyLoopback: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [{ ...loopback.lo![0]!, internal: true }] };
    const mute = new LanSearch({ clock: systemClock, interfaces: () => onlyLoopback, udpPort: await freeUdpPort() });
    await mute.start();
    closers.push(() => mute.close());
    // The first query is due at once; the search's own wait ends after it.
    expect(await mute.next(Date.now() + 200)).toBeUndefined();
    expect(mute.unsent()).toBe('this machine is on no IPv4 network to broadcast to');

    const heard = new LanSearch({ clock: systemClock, interfaces: () => loopback, udpPort: await freeUdpPort() });
    await heard.start();
    closers.push(() => heard.close());
    await expect.poll(() => heard.sent(), { timeout: 2_000 }).toBeGreaterThanOrEqual(1);
    expect(heard.unsent()).toBeUndefined();
    expect(mute.sent()).toBe(0);
  });
});
