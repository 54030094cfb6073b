/**
 * The daemon's state in the Prometheus text format, read from the same
 * status snapshot `wizard status` prints (one source, never a second
 * bookkeeping). Gauges and counters are filled from the snapshot at each
 * scrape; prom-client adds the process figures (memory, CPU, event loop).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusSnapshot } from '../status/snapshot.js';

/** A registry answering scrapes from `snapshot()`. */
export function metricsRegistry(snapshot: () => StatusSnapshot): Registry {
  const registry = new Registry();
  // The event-loop delay histogram samples with a libuv timer: at prom-client's default of every
  // 10 ms that alone kept an idle daemon at about 1% of a core (the bench's IDLE); once a second
  // costs nothing, and the lag gauge each scrape measures is exact either way.
  collectDefaultMetrics({ register: registry, prefix: 'wizard_', eventLoopMonitoringPrecision: 1000 });
  // One snapshot per scrape, shared by every metric's collect.
  let current: StatusSnapshot | undefined;
  const now = (): StatusSnapshot => (current ??= snapshot());
  const peer = ['peer', 'peer_name'] as const;
  const folder = ['folder'] as const;

  const peerCounter = (name: string, help: string, value: (p: StatusSnapshot['peers'][number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: peer,
      registers: [registry],
      collect() {
        this.reset();
        for (const p of now().peers) this.labels(p.id, p.name).inc(value(p));
      },
    });
  peerCounter('wizard_peer_sent_bytes_total', 'Bytes of frames sent to the peer since the daemon started.', (p) => p.bytesSent);
  peerCounter('wizard_peer_received_bytes_total', 'Bytes of frames received from the peer since the daemon started.', (p) => p.bytesReceived);
  new Gauge({
    name: 'wizard_peer_connected',
    help: '1 while a link to the peer is up, else 0.',
    labelNames: peer,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of now().peers) this.labels(p.id, p.name).set(p.connected ? 1 : 0);
    },
  });

  const folderGauge = (name: string, help: string, value: (f: StatusSnapshot['folders'][number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: folder,
      registers: [registry],
      collect() {
        this.reset();
        for (const f of now().folders) this.labels(f.id).set(value(f));
      },
    });
  folderGauge('wizard_folder_files', 'Files in the folder, as indexed.', (f) => f.files);
  folderGauge('wizard_folder_bytes', 'Bytes of file content in the folder, as indexed.', (f) => f.bytes);
  folderGauge('wizard_folder_pending_files', 'Paths still to sync with connected peers.', (f) => f.pending);
  folderGauge('wizard_folder_in_sync', '1 when the folder is idle and agrees with every connected peer, else 0.', (f) => (f.inSync ? 1 : 0));
  folderGauge('wizard_folder_halted', '1 while the folder is halted (see wizard status), else 0.', (f) => (f.state === 'halted' ? 1 : 0));
  folderGauge('wizard_folder_paused', "1 while the folder is paused ('wizard folder unpause' resumes it), else 0.", (f) => (f.state === 'paused' ? 1 : 0));
  folderGauge('wizard_folder_held_deletions', "Deletions waiting for 'wizard resume'.", (f) => f.heldDeletions);
  folderGauge('wizard_folder_last_full_scan_seconds', 'How long the last whole-folder scan took.', (f) => f.fullScans.lastMs / 1000);
  new Counter({
    name: 'wizard_folder_full_scans_total',
    help: 'Whole-folder scans completed since the daemon started.',
    labelNames: folder,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of now().folders) this.labels(f.id).inc(f.fullScans.count);
    },
  });

  new Gauge({
    name: 'wizard_transfers_active',
    help: 'Downloads in progress, in every folder.',
    registers: [registry],
    collect() {
      this.set(now().transfers.length);
    },
  });
  new Gauge({
    name: 'wizard_errors',
    help: 'Recent errors listed in wizard status (paths failing to sync and daemon errors).',
    registers: [registry],
    collect() {
      this.set(now().errors.length);
    },
  });
  new Counter({
    name: 'wizard_service_restarts_total',
    help: "Restarts of each supervised part of the daemon since it started.",
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of now().services) this.labels(s.name).inc(s.restarts);
    },
  });

  // The snapshot is taken lazily by the first collect and dropped after the scrape.
  const metrics = registry.metrics.bind(registry);
  registry.metrics = async () => {
    try {
      return await metrics();
    } finally {
      current = undefined;
    }
  };
  return registry;
}
