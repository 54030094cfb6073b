/**
 * The page's live view: a server-sent event stream that pushes the status
 * snapshot whenever it changed, looked at every `intervalMs` (so at most a
 * few per second), with a comment line every `heartbeatMs` so proxies and
 * the browser keep an idle stream open. Plain HTTP, so the request went
 * through the same Host and session checks as any other.
 */
import type http from 'node:http';

/** How often the stream looks at the snapshot, and keeps itself alive. */
export interface StreamTimings {
  readonly intervalMs: number;
  readonly heartbeatMs: number;
}

/** Defaults: two looks a second, a heartbeat every 15 s. */
export const DEFAULT_STREAM_TIMINGS: StreamTimings = { intervalMs: 500, heartbeatMs: 15_000 };

/** Streams `snapshot()` to `res` as `status` events until the client goes away; `onError` hears a snapshot that failed. */
export function streamStatus(req: http.IncomingMessage, res: http.ServerResponse, snapshot: () => Promise<unknown>, timings: StreamTimings, onError: (err: unknown) => void): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  // The stream is for ever: the server's request timeout must not cut it.
  req.socket.setTimeout(0);
  let last = '';
  let id = 0;
  let busy = false;
  const look = () => {
    if (busy) return;
    busy = true;
    snapshot().then(
      (s) => {
        busy = false;
        const text = JSON.stringify(s);
        if (text === last || res.destroyed) return;
        last = text;
        res.write(`id: ${++id}\nevent: status\ndata: ${text}\n\n`);
      },
      (err: unknown) => {
        busy = false;
        onError(err);
      },
    );
  };
  look();
  const poll = setInterval(look, timings.intervalMs);
  const beat = setInterval(() => res.write(': keepalive\n\n'), timings.heartbeatMs);
  res.on('close', () => {
    clearInterval(poll);
    clearInterval(beat);
  });
}
