/**
 * The metrics registry, made at the first scrape instead of at the daemon's start. An idle node
 * that nobody scrapes never loads prom-client (about 5 MiB resident) and never runs its
 * event-loop delay sampler, a libuv timer that woke the daemon every second. A scraper's first
 * answer covers the process figures from then on (the delay percentiles, GC counts); every answer
 * after it is as before.
 */
import type { Registry } from 'prom-client';
import type { StatusSnapshot } from '../status/snapshot.js';

/** What `GET /metrics` answers with. */
export interface MetricsSource {
  /** The registry's text and its content type; the first call makes the registry. */
  scrape(): Promise<{ readonly contentType: string; readonly text: string }>;
}

/** Makes the registry with `load` once, when first scraped; a failed load is tried again at the next scrape. */
export function lazyMetrics(load: () => Promise<Registry>): MetricsSource {
  let registry: Promise<Registry> | undefined;
  return {
    async scrape() {
      registry ??= load().catch((err: unknown) => {
        registry = undefined;
        throw err;
      });
      const r = await registry;
      return { contentType: r.contentType, text: await r.metrics() };
    },
  };
}

/** The daemon's registry (src/gui/metrics.ts), loaded with prom-client at the first scrape. */
export function daemonMetrics(snapshot: () => StatusSnapshot): MetricsSource {
  return lazyMetrics(async () => (await import('./metrics.js')).metricsRegistry(snapshot));
}
