import { describe, expect, it } from 'vitest';
import { children, namedBits, oid, readValue, sequence, smallInteger, time, tlv, unsignedInteger } from '../../src/certs/der.js';

const hex = (b: Buffer) => b.toString('hex');

describe('DER encoding (X.690), against known encodings', () => {
  const cases: Array<{ description: string; value: () => Buffer; der: string }> = [
    { description: 'sha256WithRSAEncryption', value: () => oid('1.2.840.113549.1.1.11'), der: '06092a864886f70d01010b' },
    { description: 'ecdsa-with-SHA256', value: () => oid('1.2.840.10045.4.3.2'), der: '06082a8648ce3d040302' },
    { description: 'commonName', value: () => oid('2.5.4.3'), der: '0603550403' },
    { description: 'a length of 200 (long form, one byte)', value: () => tlv(0x04, Buffer.alloc(200)).subarray(0, 3), der: '0481c8' },
    { description: 'a length of 300 (long form, two bytes)', value: () => tlv(0x04, Buffer.alloc(300)).subarray(0, 4), der: '0482012c' },
    { description: 'keyCertSign and cRLSign', value: () => namedBits([5, 6]), der: '03020106' },
    { description: 'digitalSignature', value: () => namedBits([0]), der: '03020780' },
    { description: 'digitalSignature and keyEncipherment', value: () => namedBits([0, 2]), der: '030205a0' },
    { description: 'INTEGER 0', value: () => smallInteger(0), der: '020100' },
    { description: 'INTEGER 2 (version v3)', value: () => smallInteger(2), der: '020102' },
    { description: 'INTEGER 128 (a zero byte keeps it positive)', value: () => unsignedInteger(Buffer.from([0x80])), der: '02020080' },
    { description: 'INTEGER from a magnitude with leading zeros', value: () => unsignedInteger(Buffer.from([0, 0, 0x7f])), der: '02017f' },
    { description: 'the last UTCTime year', value: () => time(new Date('2049-12-31T23:59:59Z')), der: `170d${Buffer.from('491231235959Z').toString('hex')}` },
    { description: 'the first GeneralizedTime year', value: () => time(new Date('2050-01-01T00:00:00Z')), der: `180f${Buffer.from('20500101000000Z').toString('hex')}` },
    { description: 'an empty SEQUENCE', value: () => sequence(), der: '3000' },
  ];
  it.each(cases)('$description', ({ value, der }) => {
    expect(hex(value())).toBe(der);
  });

  it('reads back what it writes, with long lengths', () => {
    const inner = [tlv(0x04, Buffer.alloc(300, 1)), oid('2.5.4.3'), sequence()];
    const whole = sequence(...inner);
    const read = readValue(whole);
    expect(read.tag).toBe(0x30);
    expect(read.whole.equals(whole)).toBe(true);
    expect(children(read.content).map((c) => hex(c.whole))).toEqual(inner.map(hex));
  });

  it('refuses a value that runs past the end', () => {
    expect(() => readValue(Buffer.from([0x30, 0x05, 0x01]))).toThrow('past the end');
  });
});
