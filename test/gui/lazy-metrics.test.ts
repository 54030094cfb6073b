/**
 * The metrics registry is made at the first scrape, not before (an idle node nobody scrapes never
 * loads prom-client nor runs its once-a-second event-loop sampler), once, and again after a failed load.
 */
import { Gauge, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { lazyMetrics } from '../../src/gui/lazy-metrics.js';

function registry(): Registry {
  const r = new Registry();
  new Gauge({ name: 'wizard_test_gauge', help: 'a test gauge', registers: [r] }).set(7);
  return r;
}

it('makes the registry at the first scrape, once, and answers with its text and content type', async () => {
  let made = 0;
  const source = lazyMetrics(() => {
    made++;
    return Promise.resolve(registry());
  });
  expect(made).toBe(0);
  const [first, second] = await Promise.all([source.scrape(), source.scrape()]);
  expect(made).toBe(1);
  expect(first.text).toContain('wizard_test_gauge 7');
  expect(first.contentType).toBe(new Registry().contentType);
  expect(second).toEqual(first);
  await source.scrape();
  expect(made).toBe(1);
});

it('a load that failed is tried again at the next scrape', async () => {
  let calls = 0;
  const source = lazyMetrics(() => (++calls === 1 ? Promise.reject(new Error('no module')) : Promise.resolve(registry())));
  await expect(source.scrape()).rejects.toThrow('no module');
  expect((await source.scrape()).text).toContain('wizard_test_gauge 7');
  expect(calls).toBe(2);
});
