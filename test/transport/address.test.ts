import { describe, expect, it } from 'vitest';
import { WizardError } from '../../src/core/errors.js';
import { formatHostPort, isThisMachine, parseHostPort } from '../../src/transport/address.js';

describe('parseHostPort', () => {
  interface Case {
    /** What the input exercises. */
    description: string;
    input: string;
    /** Parsed result, or undefined when the input must be refused with USAGE. */
    expected?: { host: string; port: number };
    allowZero?: boolean;
  }
  const cases: Case[] = [
    { description: 'bare host name', input: 'nas.local', expected: { host: 'nas.local', port: 22000 } },
    { description: 'host and port', input: 'nas:4000', expected: { host: 'nas', port: 4000 } },
    { description: 'IPv4 and port', input: '1.2.3.4:5', expected: { host: '1.2.3.4', port: 5 } },
    { description: 'bracketed IPv6 and port', input: '[::1]:8443', expected: { host: '::1', port: 8443 } },
    { description: 'bracketed IPv6 alone', input: '[fe80::1]', expected: { host: 'fe80::1', port: 22000 } },
    { description: 'surrounding spaces', input: ' nas:1 ', expected: { host: 'nas', port: 1 } },
    { description: 'highest port', input: 'nas:65535', expected: { host: 'nas', port: 65535 } },
    { description: 'port 0 when allowed', input: '0.0.0.0:0', allowZero: true, expected: { host: '0.0.0.0', port: 0 } },
    { description: 'port 0 by default', input: 'nas:0' },
    { description: 'port too large', input: 'nas:65536' },
    { description: 'negative port', input: 'nas:-1' },
    { description: 'non-numeric port', input: 'nas:http' },
    { description: 'empty port', input: 'nas:' },
    { description: 'empty input', input: '' },
    { description: 'port only', input: ':22000' },
    { description: 'unbracketed IPv6', input: '::1' },
    { description: 'bracketed non-IPv6', input: '[nas]:1' },
    { description: 'bad IPv4', input: '1.2.3.999:1' },
    { description: 'URL, not an address', input: 'tcp://nas:1' },
    { description: 'space inside', input: 'my nas:1' },
    { description: 'trailing garbage after bracket', input: '[::1]x' },
  ];
  it.each(cases)('$description: "$input"', ({ input, expected, allowZero }) => {
    const parse = (): { host: string; port: number } => parseHostPort(input, 22000, { allowZero });
    if (expected) {
      expect(parse()).toEqual(expected);
      return;
    }
    try {
      parse();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(WizardError);
      expect((err as WizardError).code).toBe('USAGE');
    }
  });

  it('formats what it parses', () => {
    expect(formatHostPort('::1', 80)).toBe('[::1]:80');
    expect(formatHostPort('nas', 80)).toBe('nas:80');
    expect(parseHostPort(formatHostPort('fe80::2', 9), 1)).toEqual({ host: 'fe80::2', port: 9 });
  });
});

describe('isThisMachine', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [
      { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.168.1.20/24' },
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
    ],
  } as const satisfies NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;

  it('takes loopback, in either family and IPv4-mapped, and our own interfaces\' addresses for this machine', () => {
    for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1', '192.168.1.20', '::ffff:192.168.1.20', 'fe80::1']) expect(isThisMachine(a, interfaces), a).toBe(true);
  });

  it('takes any other address, or none, for another machine', () => {
    for (const a of ['192.168.1.21', '10.0.0.1', '::2', '::ffff:10.0.0.1', '128.0.0.1', undefined]) expect(isThisMachine(a, interfaces), String(a)).toBe(false);
  });
});
