import { describe, expect, it } from 'vitest';
import { FailureBudget, sourceOf } from '../../src/transport/handshake-gate.js';

describe('sourceOf', () => {
  const cases: Array<{ address: string | undefined; source: string }> = [
    { address: '192.0.2.7', source: '192.0.2.7' },
    { address: '::ffff:192.0.2.7', source: '192.0.2.7' },
    { address: '::FFFF:192.0.2.7', source: '192.0.2.7' },
    { address: '2001:db8:1:2:3:4:5:6', source: '2001:db8:1:2::/64' },
    { address: '2001:db8:1:2::99', source: '2001:db8:1:2::/64' },
    { address: '2001:0db8:0001:0002:ffff::1', source: '2001:db8:1:2::/64' },
    { address: '2001:db8::1', source: '2001:db8:0:0::/64' },
    { address: 'fe80::1%eth0', source: 'fe80:0:0:0::/64' },
    { address: '::1', source: '0:0:0:0::/64' },
    { address: '64:ff9b::192.0.2.7', source: '64:ff9b:0:0::/64' },
    { address: undefined, source: '' },
  ];
  it.each(cases)('$address counts as $source', ({ address, source }) => {
    expect(sourceOf(address)).toBe(source);
  });
});

describe('FailureBudget', () => {
  it('item 11: allows a burst of failures per source, then refuses that source until it refills, and never another', () => {
    const budget = new FailureBudget({ burst: 3, perSecond: 2 });
    for (let i = 0; i < 3; i++) {
      expect(budget.allows('a', 0)).toBe(true);
      budget.charge('a', 0);
    }
    expect(budget.allows('a', 0)).toBe(false);
    expect(budget.allows('b', 0)).toBe(true);
    // Half a second at 2 per second: one more.
    expect(budget.allows('a', 499)).toBe(false);
    expect(budget.allows('a', 500)).toBe(true);
    budget.charge('a', 500);
    expect(budget.allows('a', 500)).toBe(false);
    // Refills up to the burst, no further.
    expect(budget.allows('a', 100_000)).toBe(true);
    for (let i = 0; i < 3; i++) budget.charge('a', 100_000);
    expect(budget.allows('a', 100_000)).toBe(false);
  });

  it('forgets the least recently charged sources past its capacity, so many sources cannot grow it without bound', () => {
    const budget = new FailureBudget({ burst: 1, perSecond: 0.001 });
    for (let i = 0; i < 20_000; i++) budget.charge(`s${i}`, 0);
    // The newest are still remembered (refused); the oldest were forgotten and start full again.
    expect(budget.allows('s19999', 0)).toBe(false);
    expect(budget.allows('s0', 0)).toBe(true);
  });
});
