/**
 * The daemon's web server on loopback. Today it serves `GET /metrics`;
 * every request passes the Host and token checks of access.ts first, and
 * anything refused gets its status code and nothing else.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { describeError } from '../core/errors.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { checkAccess, loopbackHosts } from './access.js';

/** What the server needs. */
export interface GuiServerDeps {
  /** host:port from the config (gui.listen). */
  readonly listen: string;
  readonly token: string;
  readonly metrics: Registry;
  readonly log: Logger;
}

/** A listening server. */
export interface GuiServer {
  /** The URL it answers at (no token in it). */
  readonly url: string;
  close(): Promise<void>;
  /** Registers a listener for a failure of the listening socket after it started (the supervisor restarts it). */
  onError(listener: (err: Error) => void): void;
}

/** Starts the server; when the configured port is taken, listens on a free one and logs which. */
export async function startGuiServer(deps: GuiServerDeps): Promise<GuiServer> {
  const { host, port: wanted } = parseHostPort(deps.listen, 0, { allowZero: true });
  let hosts = new Set<string>();
  const server = http.createServer((req, res) => {
    const verdict = checkAccess({ host: req.headers.host, authorization: req.headers.authorization }, deps.token, hosts);
    if (!verdict.ok) {
      deps.log.debug({ status: verdict.status, reason: verdict.reason, url: req.url?.slice(0, 200) }, 'web request refused');
      res.writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8' }).end(verdict.status === 401 ? 'Unauthorized\n' : 'Forbidden\n');
      return;
    }
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?') === true)) {
      deps.metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(text),
        (err: unknown) => {
          deps.log.error({ err }, `metrics failed: ${describeError(err)}`);
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed; see the daemon log\n');
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
  });
  // A scraper that opens a connection and sends nothing must not hold it for ever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const port = await listenOn(server, host, wanted).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE' || wanted === 0) throw err;
    const free = await listenOn(server, host, 0);
    deps.log.warn({ wanted: deps.listen, port: free }, `gui.listen port ${wanted} is taken; the web server listens on port ${free} instead`);
    return free;
  });
  hosts = loopbackHosts(port);
  const url = `http://${formatHostPort(host, port)}`;
  deps.log.info({ url }, 'web server listening (metrics at /metrics)');
  return {
    url,
    onError: (listener) => server.on('error', listener),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listenOn(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
