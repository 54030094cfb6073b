/**
 * The LAN announcement codec against hostile packets: every length and field
 * checked, each refusal a reason (never a throw), and a round trip for good ones.
 */
import { describe, expect, it } from 'vitest';
import { ANNOUNCE_MAGIC, decodeAnnouncement, encodeAnnouncement, MAX_ANNOUNCE_BYTES } from '../../src/discovery/announcement.js';

const id = 'ab'.repeat(32);
const good = encodeAnnouncement({ id, port: 7842, name: 'laptop' });
const patched = (offset: number, bytes: number[]) => {
  const b = Buffer.from(good);
  Buffer.from(bytes).copy(b, offset);
  return b;
};

describe('LAN announcement codec', () => {
  it('round-trips an announcement, names in any script included', () => {
    expect(decodeAnnouncement(good)).toEqual({ id, port: 7842, name: 'laptop' });
    const uni = encodeAnnouncement({ id, port: 1, name: 'Büro-Rechner 日本' });
    expect(decodeAnnouncement(uni)).toEqual({ id, port: 1, name: 'Büro-Rechner 日本' });
    expect(good.subarray(0, 4).equals(ANNOUNCE_MAGIC)).toBe(true);
  });

  it('refuses every truncation of a good packet as short', () => {
    for (let n = 0; n < good.length; n++) expect(decodeAnnouncement(good.subarray(0, n))).toBe('short');
  });

  it('refuses a packet with bytes past its name, and anything over the largest size', () => {
    expect(decodeAnnouncement(Buffer.concat([good, Buffer.from([0])]))).toBe('long');
    expect(decodeAnnouncement(Buffer.alloc(MAX_ANNOUNCE_BYTES + 1))).toBe('long');
    expect(decodeAnnouncement(Buffer.alloc(65_507, 0xff))).toBe('long');
  });

  it('refuses a wrong magic, an unknown version, an all-zero ID, port 0', () => {
    expect(decodeAnnouncement(patched(0, [0x2e, 0xa7, 0xd9, 0x0b]))).toBe('magic');
    expect(decodeAnnouncement(patched(4, [2]))).toBe('version');
    expect(decodeAnnouncement(patched(5, new Array<number>(32).fill(0)))).toBe('id');
    expect(decodeAnnouncement(patched(37, [0, 0]))).toBe('port');
  });

  it('refuses names that are empty, not UTF-8, hold control characters or are over 64 characters', () => {
    expect(decodeAnnouncement(patched(39, [0]).subarray(0, 40))).toBe('name');
    const withName = (name: Buffer) => Buffer.concat([good.subarray(0, 39), Buffer.from([name.length]), name]);
    expect(decodeAnnouncement(withName(Buffer.from([0xc3, 0x28])))).toBe('name');
    expect(decodeAnnouncement(withName(Buffer.from('evil\x1b[2Jname')))).toBe('name');
    expect(decodeAnnouncement(withName(Buffer.from('a\nb')))).toBe('name');
    expect(decodeAnnouncement(withName(Buffer.from('x'.repeat(65))))).toBe('name');
    expect(decodeAnnouncement(withName(Buffer.from('x'.repeat(64))))).toEqual({ id, port: 7842, name: 'x'.repeat(64) });
  });

  it('a length byte that claims more than the packet holds is short, less is long', () => {
    expect(decodeAnnouncement(patched(39, [7]))).toBe('short');
    expect(decodeAnnouncement(patched(39, [5]))).toBe('long');
  });

  it('never throws on random bytes', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 500; i++) {
      const b = Buffer.alloc(Math.floor(rand() * 400), 0);
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      // Half of them with the right header, so the later checks are reached too.
      if (i % 2 === 0 && b.length >= 5) good.copy(b, 0, 0, Math.min(40, b.length));
      expect(() => decodeAnnouncement(b)).not.toThrow();
    }
  });

  it('encoding refuses values this node must never send, and cuts a long name at a character boundary', () => {
    expect(() => encodeAnnouncement({ id: 'xyz', port: 1, name: 'a' })).toThrow(/node ID/);
    expect(() => encodeAnnouncement({ id, port: 0, name: 'a' })).toThrow(/port/);
    const long = encodeAnnouncement({ id, port: 1, name: '日'.repeat(100) });
    expect(long.length).toBeLessThanOrEqual(MAX_ANNOUNCE_BYTES);
    expect(typeof decodeAnnouncement(long)).toBe('string'); // over 64 characters: the receiver refuses it, as config would
  });
});
