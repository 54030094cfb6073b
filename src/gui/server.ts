/**
 * The daemon's web server on loopback: the page (web/), its JSON API, its
 * live event stream, and `GET /metrics`. Every request passes the Host check
 * and then the token (bearer) or session (cookie) check of access.ts; every
 * change also the CSRF check. Anything refused gets its status code and
 * nothing else. `GET /?login=CODE` (the URL `wizard gui` prints) swaps a
 * one-time code (login-codes.ts) for a session cookie and redirects to a URL
 * without it; a used, expired or made-up code gets 401 and nothing else.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { describeError, WizardError } from '../core/errors.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { checkAccess, checkCsrf, isOurHost, loopbackHosts } from './access.js';
import { type GuiActions, routeOf } from './api.js';
import { loadAssets } from './assets.js';
import { DEFAULT_STREAM_TIMINGS, type StreamTimings, streamStatus } from './events.js';
import type { MetricsSource } from './lazy-metrics.js';
import { LoginCodes } from './login-codes.js';
import { SessionBook, sessionCookie, sessionCookieName } from './sessions.js';

/** What the server needs. */
export interface GuiServerDeps {
  /** host:port from the config (gui.listen). */
  readonly listen: string;
  readonly token: string;
  readonly metrics: MetricsSource;
  readonly actions: GuiActions;
  readonly log: Logger;
  readonly stream?: StreamTimings;
  /** The clock login codes expire by, in ms; monotonic (performance.now) by default, so a wall-clock jump neither extends nor ends them. */
  readonly now?: () => number;
}

/** A listening server. */
export interface GuiServer {
  /** The URL it answers at (no token in it). */
  readonly url: string;
  /** A URL that logs one browser in, once, within a minute (a fresh one-time code). */
  loginUrl(): string;
  close(): Promise<void>;
  /** Registers a listener for a failure of the listening socket after it started (the supervisor restarts it). */
  onError(listener: (err: Error) => void): void;
}

/** Largest JSON body accepted: the page's requests are small; the ignore list is the biggest. */
const MAX_BODY_BYTES = 300 * 1024;
/** Event streams open at once: a browser keeps one per tab. */
const MAX_STREAMS = 16;

/**
 * On every answer: no framing by another page, no guessing of types, no
 * referrer (the login URL carries a code), scripts only from this server.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/** Starts the server; when the configured port is taken, listens on a free one and logs which. */
export async function startGuiServer(deps: GuiServerDeps): Promise<GuiServer> {
  const { host, port: wanted } = parseHostPort(deps.listen, 0, { allowZero: true });
  const assets = loadAssets();
  const sessions = new SessionBook();
  const codes = new LoginCodes(deps.now ?? (() => performance.now()));
  const timings = deps.stream ?? DEFAULT_STREAM_TIMINGS;
  let hosts = new Set<string>();
  let cookie = '';
  let streams = 0;
  const server = http.createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const refuse = (status: 401 | 403, reason: string) => {
      deps.log.debug({ status, reason, method: req.method, path: (req.url ?? '').split('?')[0]?.slice(0, 200) }, 'web request refused');
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(status === 401 ? 'Unauthorized\n' : 'Forbidden\n');
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The login: the one-time code from `wizard gui`'s URL becomes a session cookie, and the URL loses it.
    const login = url.searchParams.get('login');
    if (req.method === 'GET' && login !== null && (url.pathname === '/' || url.pathname === '/login')) {
      if (!isOurHost(req.headers.host, hosts)) return refuse(403, 'Host is not this machine');
      // A cookie does not make a spent code good: the URL is refused however often it is opened again.
      if (!codes.redeem(login)) return refuse(401, 'a used, expired or unknown login code');
      res.writeHead(303, { location: '/', 'set-cookie': sessionCookie(cookie, sessions.open()) }).end();
      return;
    }
    const verdict = checkAccess({ host: req.headers.host, authorization: req.headers.authorization, cookie: req.headers.cookie }, deps.token, hosts, { book: sessions, cookie });
    if (!verdict.ok) return refuse(verdict.status, verdict.reason);
    const session = verdict.session;
    if (req.method === 'POST') {
      const csrf = checkCsrf(
        {
          method: req.method,
          contentType: req.headers['content-type'],
          origin: req.headers.origin,
          secFetchSite: header(req.headers['sec-fetch-site']),
          csrf: header(req.headers['x-wizard-csrf']),
        },
        session,
        hosts,
      );
      if (!csrf.ok) return refuse(403, csrf.reason);
    } else if (req.method !== 'GET') {
      return refuse(403, 'only GET and POST');
    }
    // A browser's GET from another origin (an <img>, a fetch) never carries the cookie (SameSite=Strict); one that says it is cross-site is refused anyway.
    if (session !== undefined && req.headers['sec-fetch-site'] === 'cross-site') return refuse(403, 'Sec-Fetch-Site is cross-site');
    answer(req, res, url, session?.csrf);
  });
  const json = (res: http.ServerResponse, status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(value));
  const failed = (res: http.ServerResponse, err: unknown) => {
    // A usage or config error is the same one line the CLI prints; anything else is logged in full.
    if (err instanceof WizardError && (err.code === 'USAGE' || err.code === 'CONFIG')) return json(res, 400, { error: err.message });
    deps.log.error({ err }, `web request failed: ${describeError(err)}`);
    json(res, 500, { error: `${describeError(err)} (see the daemon log)` });
  };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, csrf: string | undefined) => {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/metrics') {
      deps.metrics.scrape().then(
        ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
        (err: unknown) => {
          deps.log.error({ err }, `metrics failed: ${describeError(err)}`);
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed; see the daemon log\n');
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/events') {
      if (streams >= MAX_STREAMS) return json(res, 503, { error: 'too many live views open; close a tab' });
      streams++;
      res.on('close', () => streams--);
      streamStatus(req, res, () => deps.actions.status(), timings, (err) => deps.log.warn({ err }, `live view: status failed: ${describeError(err)}`));
      return;
    }
    if (req.method === 'GET' && path === '/api/session') return json(res, 200, { csrf: csrf ?? null });
    const asset = req.method === 'GET' ? assets.get(path) : undefined;
    if (asset !== undefined) {
      res.writeHead(200, { 'content-type': asset.type }).end(asset.body);
      return;
    }
    const route = routeOf(deps.actions, req.method ?? '', path);
    if (route === undefined) return json(res, 404, { error: 'no such page' });
    if (route.kind === 'get') {
      route.run(url.searchParams).then((v) => json(res, 200, v), (err: unknown) => failed(res, err));
      return;
    }
    readJson(req).then(
      (body) => route.run(body).then((v) => json(res, 200, v)),
    ).catch((err: unknown) => failed(res, err));
  };
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
  cookie = sessionCookieName(port);
  const url = `http://${formatHostPort(host, port)}`;
  deps.log.info({ url }, "web server listening ('wizard gui' prints the URL to open; metrics at /metrics)");
  return {
    url,
    loginUrl: () => `${url}/?login=${codes.issue()}`,
    onError: (listener) => server.on('error', listener),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The request's JSON body; a UsageError when it is not JSON or too big. */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new WizardError('USAGE', 'the request body is too big'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        reject(new WizardError('USAGE', 'the request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
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
