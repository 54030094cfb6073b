/**
 * Asks a daemon for its status over the raw control socket (HOME/wizard.sock,
 * one JSON line each way: docs/PROTOCOL.md section 10) and times the answer.
 * `wizard status` would spend most of a 100 ms budget starting node itself;
 * this measures only how long the daemon's event loop takes to answer.
 */
import net from 'node:net';
import path from 'node:path';
import type { StatusSnapshot } from '../../src/node.js';

/** Milliseconds from connecting to the daemon's whole status line. */
export async function statusLatencyMs(home: string, timeoutMs = 20_000): Promise<number> {
  const started = performance.now();
  await controlStatus(home, timeoutMs);
  return performance.now() - started;
}

/** The daemon's status snapshot, as `wizard status --json` prints it, without starting a CLI process. */
export function controlStatus(home: string, timeoutMs = 20_000): Promise<StatusSnapshot> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(home, 'wizard.sock'));
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no status answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('{"cmd":"status"}\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (!reply.includes('\n')) return;
      clearTimeout(timer);
      socket.destroy();
      const answer = JSON.parse(reply) as { ok: boolean; result?: StatusSnapshot; error?: string };
      if (answer.ok && answer.result !== undefined) resolve(answer.result);
      else reject(new Error(`status failed: ${answer.error ?? '?'}`));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Status probes back to back until `until` settles; resolves with every latency measured (at least one). */
export async function probeStatusWhile(home: string, until: Promise<unknown>, gapMs = 5): Promise<number[]> {
  let done = false;
  const settled = until.then(
    () => (done = true),
    () => (done = true),
  );
  const latencies: number[] = [];
  do {
    latencies.push(await statusLatencyMs(home));
    await new Promise((r) => setTimeout(r, gapMs));
  } while (!done);
  await settled;
  return latencies;
}
