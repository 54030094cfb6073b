/**
 * The status text: peers with rates from two snapshots, folders, transfers
 * with progress bars, config errors; hostile strings escaped; the live
 * view's frame redraws in place on a terminal and is plain in a pipe.
 */
import { describe, expect, it } from 'vitest';
import { renderFrame } from '../../src/cli/status-command.js';
import { formatStatus, formatWhy, progressBar } from '../../src/cli/status.js';
import { printable } from '../../src/cli/format.js';
import type { StatusSnapshot } from '../../src/status/snapshot.js';

const peerId = 'c'.repeat(64);
const snapshot = (over: Partial<StatusSnapshot> = {}): StatusSnapshot => ({
  id: 'd'.repeat(64),
  name: 'alpha',
  listen: '127.0.0.1:7842',
  peers: [{ id: peerId, name: 'beta', address: '10.0.0.2:7842', connected: true, bytesSent: 1024, bytesReceived: 0 }],
  folders: [{ id: 'docs', path: '/srv/docs', state: 'syncing', files: 3, bytes: 2048, inSync: false, pending: 2, heldDeletions: 0, bytesLeft: 3 * 1024 * 1024, fullScans: { count: 1, lastMs: 20, lastAtMs: 0 }, mode: 'send-receive' }],
  offers: [],
  pairingRequests: [],
  errors: [],
  transfers: [],
  transferSlots: { running: 0, files: 0, waiting: 0, peak: 0 },
  settings: { limits: { transfers: 4, hashers: 2, bandwidthUp: 0, bandwidthDown: 0, debounceMs: 50 }, compression: 'auto', trashRetentionDays: 30, rescanIntervalS: 600, logLevel: 'info', trust: 'ca', revoked: 0 },
  services: [{ name: 'folder:docs', state: 'running', restarts: 0 }],
  discovery: { state: 'running', port: 7844, targets: ['10.0.0.255'], announcements: 3, queries: 0, seen: 1, packets: { heard: 4, accepted: 4, dropped: {} } },
  process: { rssBytes: 90 * 1024 * 1024, heapUsedBytes: 20 * 1024 * 1024, heapTotalBytes: 30 * 1024 * 1024, externalBytes: 3 * 1024 * 1024, arrayBuffersBytes: 1024 * 1024, workerThreads: 0 },
  ...over,
});

describe('printable', () => {
  const cases = [
    { what: 'plain text is unchanged', in: 'notes/été.txt', out: 'notes/été.txt' },
    { what: 'ESC and BEL', in: 'a\u001b[2J\u0007', out: 'a\\x1b[2J\\x07' },
    { what: 'a C1 CSI', in: 'x\u009b31m', out: 'x\\x9b31m' },
    { what: 'a bidi override that would reverse the name', in: 'exe.\u202Etxt', out: 'exe.\\u{202e}txt' },
    { what: 'CR and LF that would forge a new line', in: 'a\r\nfake: line', out: 'a\\x0d\\x0afake: line' },
  ];
  it.each(cases)('$what', (c) => {
    expect(printable(c.in)).toBe(c.out);
  });
});

describe('formatStatus', () => {
  it('shows peers, folders and how much is left', () => {
    const lines = formatStatus(snapshot());
    expect(lines).toContain('  beta  connected  10.0.0.2:7842');
    expect(lines).toContain('    sent 1.0 KiB, received 0 B');
    expect(lines).toContain('  docs  /srv/docs');
    expect(lines).toContain('    3 files, 2.0 KiB  syncing, 2 left (3.0 MiB)');
    expect(lines).toContain('Limits: 4 transfers, 2 hashers, up unlimited, down unlimited');
    expect(lines).toContain('Trash kept 30 days; log level info');
  });

  it('says where a peer was last seen on the LAN, and whether discovery is on, idle or off and why', () => {
    const seen = snapshot({ peers: [{ id: peerId, name: 'beta', address: '', connected: false, bytesSent: 0, bytesReceived: 0, lan: { address: '192.0.2.7:7842', seenAtMs: 40_000 } }] });
    const lines = formatStatus(seen, undefined, 52_000);
    expect(lines).toContain('  beta  not connected  no address');
    expect(lines).toContain('    seen on the LAN at 192.0.2.7:7842 12s ago');
    expect(lines).toContain('LAN discovery: on (UDP 7844, announcing to 10.0.0.255); 1 node seen');
    const dropped = snapshot({ discovery: { state: 'idle', reason: 'no network interface with an IPv4 broadcast address', port: 7844, targets: [], announcements: 0, queries: 0, seen: 0, packets: { heard: 9, accepted: 0, dropped: { rate: 5, magic: 3, self: 1 } } } });
    expect(formatStatus(dropped)).toContain('LAN discovery: idle (no network interface with an IPv4 broadcast address); 0 nodes seen; 8 packets dropped (malformed or too many)');
    const off = snapshot({ discovery: { state: 'off', reason: 'discovery.lan is false in config.yaml', port: 7844, targets: [], announcements: 0, queries: 0, seen: 0, packets: { heard: 0, accepted: 0, dropped: {} } } });
    expect(formatStatus(off)).toContain("LAN discovery: off (discovery.lan is false in config.yaml); 'discovery: {lan: true}' in config.yaml turns it on");
  });

  it('fits an 80-column terminal with usual names, paths and rates (issue 20, item 9), and says 1 file, 1 conflict', () => {
    const busy = snapshot({
      peers: [{ id: peerId, name: 'my-laptop', address: '192.168.100.200:7842', connected: true, bytesSent: 123.4 * 2 ** 30, bytesReceived: 987.6 * 2 ** 30, latencyMs: 1234, sendBytesPerSecond: 999.9 * 2 ** 20, receiveBytesPerSecond: 999.9 * 2 ** 20 }],
      folders: [{ id: 'documents', path: '/home/someone/Documents', state: 'syncing', files: 1, bytes: 12.3 * 2 ** 30, inSync: false, pending: 123, heldDeletions: 0, bytesLeft: 45.6 * 2 ** 20, conflicts: 1, mode: 'send-receive', fullScans: { count: 1, lastMs: 20, lastAtMs: 0 } }],
      transfers: [{ folder: 'documents', path: 'photos/2026/IMG_0001.jpg', peers: [peerId], bytesDone: 512 * 2 ** 20, bytesTotal: 1023 * 2 ** 20, startedAtMs: 0, bytesPerSecond: 999 * 2 ** 20, etaSeconds: 3599 }],
      transferSlots: { running: 4, files: 64, waiting: 12, peak: 4 },
    });
    const lines = formatStatus(busy, undefined, 0);
    expect(lines.filter((l) => [...l].length > 80)).toEqual([]);
    expect(lines).toContain('    1 file, 12.3 GiB  syncing, 123 left (45.6 MiB)');
    expect(lines).toContain("    1 conflict: see 'wizard conflicts'");
  });

  it('shows a folder a peer offers with the commands that take or hide it, by the peer\'s escaped name; a declined offer is not shown', () => {
    const peer = snapshot().peers[0] as StatusSnapshot['peers'][number];
    const lines = formatStatus(
      snapshot({
        peers: [{ ...peer, name: 'be\u001bta' }],
        offers: [
          { folder: 'music', peers: [peerId, 'e'.repeat(64)], declined: false },
          { folder: 'old', peers: [peerId], declined: true },
        ],
      }),
    );
    expect(lines).toContain("Offered: folder 'music' by be\\x1bta, eeeeeeee: take it with 'wizard folder accept music PATH', or hide it with 'wizard folder decline music'");
    expect(lines.some((l) => l.includes("'old'"))).toBe(false);
  });

  it('shows a pairing request waiting for a person (trust: allowlist), its name escaped, with the command that accepts it', () => {
    const lines = formatStatus(snapshot({ pairingRequests: [{ id: 'f'.repeat(64), name: 'del\u0007ta', address: '10.0.0.9:7842', folders: ['docs'], atMs: 0 }] }));
    expect(lines).toContain("Pairing request: del\\x07ta (ffffffff) from 10.0.0.9:7842: accept it with 'wizard peer accept ffffffff'");
  });

  it('lists only the services that crashed or wait to restart, with the escaped last error', () => {
    expect(formatStatus(snapshot()).some((l) => l.startsWith('Services'))).toBe(false);
    const lines = formatStatus(
      snapshot({ services: [{ name: 'folder:docs', state: 'running', restarts: 0 }, { name: 'dial:abcd', state: 'backoff', restarts: 3, lastError: 'boom\u001b[2J', lastErrorAtMs: 0, restartAtMs: 9000 }] }),
      undefined,
      5000,
    );
    expect(lines).toContain('Services:');
    expect(lines).toContain('  dial:abcd  backoff, restarting in 4s, 3 restarts; last error: boom\\x1b[2J');
    expect(lines.some((l) => l.includes('folder:docs'))).toBe(false);
  });

  it('says which peer sent entries with implausible version counters, and which is left alone for breaking the protocol, escaped', () => {
    const peer = snapshot().peers[0] as StatusSnapshot['peers'][number];
    const lines = formatStatus(
      snapshot({
        peers: [
          {
            ...peer,
            refused: [{ folder: 'docs', entries: 3, path: 'evil\u001b[2J.txt', counter: 2 ** 52, lastAtMs: 0 }],
            backoff: { violations: 2, untilMs: 125_000, lastReason: 'protocol error: index entry: version counter of x is 2^53\u0007' },
          },
        ],
      }),
      undefined,
      5_000,
    );
    expect(lines).toContain('    refused 3 index entries of docs: version counters far ahead of any clock (last: evil\\x1b[2J.txt at 4503599627370496)');
    expect(lines).toContain('    broke the protocol 2 times; not dialing it for 2m00s; last: protocol error: index entry: version counter of x is 2^53\\x07');
  });

  it('says where the log went once stdout stopped taking it, and how many lines were dropped', () => {
    const log = { destination: 'file' as const, file: '/h/daemon.log', stdoutError: 'write EPIPE', stdoutFailedAtMs: Date.UTC(2026, 0, 1, 9, 30, 5), dropped: 0 };
    expect(formatStatus(snapshot({ log }))).toContain('Log: stdout stopped taking lines at 09:30:05 UTC (write EPIPE); logging to /h/daemon.log');
    expect(formatStatus(snapshot({ log: { ...log, dropped: 3 } }))).toContain(
      'Log: stdout stopped taking lines at 09:30:05 UTC (write EPIPE); logging to /h/daemon.log; 3 lines could not be written anywhere (disk full?) and were dropped',
    );
    expect(formatStatus(snapshot()).some((l) => l.startsWith('Log:'))).toBe(false);
  });

  it("lists a folder's skipped paths: how many, the first few with why, escaped", () => {
    const folder = snapshot().folders[0] as StatusSnapshot['folders'][number];
    const skipped = { count: 4, examples: [{ path: 'a\u001b[2J', reason: 'its name is not valid UTF-8' }, { path: 'caf\u00e9.txt', reason: '2 names here differ' }] };
    const lines = formatStatus(snapshot({ folders: [{ ...folder, skipped }] }));
    const at = lines.indexOf("    4 paths are not synced (see 'wizard status --why PATH'):");
    expect(lines.slice(at + 1, at + 4)).toEqual(['      a\\x1b[2J: its name is not valid UTF-8', '      caf\u00e9.txt: 2 names here differ', '      and 2 more']);
  });

  it('turns two snapshots into up and down rates', () => {
    const before = snapshot();
    const after = snapshot({ peers: [{ id: peerId, name: 'beta', address: '', connected: true, bytesSent: 1024 + 2 * 1024 * 1024, bytesReceived: 512 }] });
    const lines = formatStatus(after, { snapshot: before, atMs: 0 }, 2000);
    expect(lines[lines.findIndex((l) => l.includes('beta')) + 1]).toBe('    up 1.0 MiB/s, down 256 B/s; sent 2.0 MiB, received 512 B');
  });

  it('shows transfers with a progress bar, rate, ETA and source, escaping a hostile path', () => {
    const lines = formatStatus(
      snapshot({
        transfers: [{ folder: 'docs', path: 'big\u001b[2J.bin', peers: [peerId], bytesDone: 512, bytesTotal: 1024, startedAtMs: 0, bytesPerSecond: 256, etaSeconds: 2 }],
        transferSlots: { running: 1, files: 1, waiting: 3, peak: 4 },
      }),
    );
    expect(lines).toContain('Transfers: 1 running, 3 waiting for a slot (limit 4)');
    const transfer = { folder: 'docs', path: 'a.txt', peers: [peerId], bytesDone: 0, bytesTotal: 10, startedAtMs: 0, bytesPerSecond: 0 };
    const shared = formatStatus(snapshot({ transfers: [transfer], transferSlots: { running: 2, files: 17, waiting: 0, peak: 2 } }));
    expect(shared).toContain('Transfers: 2 running (17 files) (limit 4)');
    expect(lines).toContain('  docs/big\\x1b[2J.bin  from beta');
    expect(lines).toContain('    [##########----------]  50%  512 B of 1.0 KiB  256 B/s  ETA 2s');
  });

  it("7: shows a folder's held deletions, per peer by its escaped name, and what lets them go", () => {
    const hostile = { id: 'e'.repeat(64), name: 'mal\u001b[2Jlory', address: '', connected: true, bytesSent: 0, bytesReceived: 0 };
    const folder = snapshot().folders[0] as StatusSnapshot['folders'][number];
    const held = { count: 43, local: 2, fromPeers: [{ peer: hostile.id, count: 41 }], reason: '41 of 45 entries deleted within a minute (more than 50%)' };
    const lines = formatStatus(snapshot({ peers: [hostile], folders: [{ ...folder, heldDeletions: 43, held }] }));
    const line = lines.find((l) => l.includes('deletions held'));
    expect(line).toBe("    43 deletions held by the deletion budget (41 from mal\\x1b[2Jlory, 2 local): 41 of 45 entries deleted within a minute (more than 50%); 'wizard resume docs' applies them");
  });

  it('shows a config error and recent errors', () => {
    const lines = formatStatus(snapshot({ configProblem: { message: 'config.yaml:3: bad', line: 3, atMs: 0 }, errors: ['docs/x: EACCES'] }));
    expect(lines).toContain('Config error (last good config in force): config.yaml:3: bad');
    expect(lines.slice(-2)).toEqual(['Recent errors:', '  docs/x: EACCES']);
  });

  it('draws a full bar for an empty file', () => {
    expect(progressBar(0, 0, 4)).toBe('[####]');
  });
});

describe('formatWhy', () => {
  it('says each peer relation and the reasons', () => {
    const lines = formatWhy({
      folder: 'docs', path: 'a.txt', inSync: false, newestAt: ['beta'], reasons: ['no peer online with that version'],
      local: { exists: true, deleted: false, type: 'file', size: 3, version: { dddddddd11: 1 } },
      peers: [{ id: peerId, name: 'beta', connected: false, relation: 'newer', exists: true, deleted: false, type: 'file', size: 4, version: { dddddddd11: 1, cccccccc22: 1 } }],
    });
    expect(lines).toEqual([
      'docs/a.txt: not in sync',
      '  this node: file 3 B  version dddddddd:1',
      '  beta (offline): file 4 B, newer  version dddddddd:1 cccccccc:1',
      '  newest content at: beta',
      '  - no peer online with that version',
    ]);
  });
});

describe('renderFrame', () => {
  it('redraws in place on a terminal: home, lines cleared to their end and cut to the width, rest cleared', () => {
    const frame = renderFrame(['x'.repeat(50), 'short'], { isTty: true, columns: () => 40, rows: () => 24 }, Date.UTC(2026, 0, 1, 12, 0, 5));
    expect(frame.startsWith('\u001b[H')).toBe(true);
    expect(frame).toContain(`${'x'.repeat(40)}\u001b[K\nshort\u001b[K`);
    expect(frame).toContain('Updated 12:00:05 UTC. Ctrl-C to quit.\u001b[K');
    expect(frame.endsWith('\u001b[J')).toBe(true);
  });

  it('cuts a frame taller than the terminal and says how much is hidden', () => {
    const frame = renderFrame(Array.from({ length: 30 }, (_, i) => `line ${i}`), { isTty: true, columns: () => 80, rows: () => 10 }, 0);
    const shown = frame.split('\n').filter((l) => l.startsWith('line ') || l.startsWith('\u001b[Hline'));
    expect(shown).toHaveLength(6);
    expect(frame).toContain('… 24 more lines (enlarge the window, or use wizard status)');
  });

  it('prints plain frames without control sequences in a pipe', () => {
    const frame = renderFrame(['a', 'b'], { isTty: false, columns: () => 80, rows: () => 24 }, Date.UTC(2026, 0, 1, 12, 0, 5));
    expect(frame).toBe('a\nb\n\nUpdated 12:00:05 UTC.\n\n');
  });
});
