/**
 * The web server's login over plain HTTP, in this process with a clock
 * driven by hand: a one-time code from loginUrl() becomes a session cookie
 * once; the same code again, a code past its minute, or a made-up one gets
 * 401 and nothing else (no cookie), and the long-lived token is no login.
 */
import http from 'node:http';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { lazyMetrics } from '../../src/gui/lazy-metrics.js';
import type { GuiActions } from '../../src/gui/api.js';
import { LOGIN_CODE_TTL_MS, LoginCodes } from '../../src/gui/login-codes.js';
import { type GuiServer, startGuiServer } from '../../src/gui/server.js';

const TOKEN = 't'.repeat(43);
let nowMs = 1_000;
let server: GuiServer;
let port: number;

/** The login never reaches an action: any call is a failure of the test. */
const noActions = new Proxy({} as GuiActions, {
  get: (_t, name) => () => Promise.reject(new Error(`action ${String(name)} called by a login`)),
});

function get(pathName: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathName, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;

beforeAll(async () => {
  server = await startGuiServer({ listen: '127.0.0.1:0', token: TOKEN, metrics: lazyMetrics(() => Promise.resolve(new Registry())), actions: noActions, log: createLogger('silent'), now: () => nowMs });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.close();
});

describe('the login URL', () => {
  it('logs a browser in once: the same URL again gets 401 and nothing else, even from the logged-in browser', async () => {
    const url = server.loginUrl();
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/\\?login=[A-Za-z0-9_-]{43}$`));
    const first = await get(pathOf(url));
    expect([first.status, first.headers.location]).toEqual([303, '/']);
    const cookie = (first.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    expect((await get('/', { cookie })).status).toBe(200);
    for (const headers of [{}, { cookie }] as Record<string, string>[]) {
      const again = await get(pathOf(url), headers);
      expect([again.status, again.body, again.headers['set-cookie']]).toEqual([401, 'Unauthorized\n', undefined]);
    }
  });

  it('refuses a code past its minute, a made-up code, and the long-lived token in the URL; a fresh code still works', async () => {
    const late = server.loginUrl();
    const fresh = server.loginUrl();
    nowMs += LOGIN_CODE_TTL_MS;
    const refused = [await get(pathOf(late)), await get(`/?login=${'x'.repeat(43)}`), await get(`/?token=${TOKEN}`), await get(`/?login=${TOKEN}`)];
    for (const res of refused) expect([res.status, res.body, res.headers['set-cookie']]).toEqual([401, 'Unauthorized\n', undefined]);
    // `fresh` was made at the same moment as `late`: past its minute too.
    expect((await get(pathOf(fresh))).status).toBe(401);
    expect((await get(pathOf(server.loginUrl()))).status).toBe(303);
    // The token stays what scripts and Prometheus use, as a bearer.
    expect((await get('/metrics', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('LoginCodes', () => {
  it('keeps 16 codes open at most, forgetting the oldest, and each works until just before its expiry', () => {
    let t = 0;
    const codes = new LoginCodes(() => t, 1_000);
    const all = Array.from({ length: 17 }, () => codes.issue());
    expect(codes.redeem(all[0] ?? '')).toBe(false);
    t = 999;
    expect(codes.redeem(all[1] ?? '')).toBe(true);
    t = 1_000;
    expect(codes.redeem(all[2] ?? '')).toBe(false);
  });
});
