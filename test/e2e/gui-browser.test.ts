/**
 * The web UI against a pair of real daemons: first its doors with plain
 * HTTP requests (node's http, so every header is ours to set: the login
 * swaps a one-time code for a cookie, and each request without the token, the
 * cookie, our Host or the CSRF proofs is refused with its status alone);
 * then the page in Debian's chromium through playwright-core: it loads from
 * `wizard gui --json`'s URL (which a second browser then opens in vain), shows the folder and the peer live, resolves a
 * conflict, resumes a folder's held deletions, restores a file from the
 * trash, makes an invite code, edits
 * limits, the ignore list and sharing through the config's validation, and
 * runs no script from hostile file names. WIZARD_SCREENSHOT=1 writes the
 * screenshot the README shows (docs/images/gui.png).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guiUrl } from '../../src/cli/gui-command.js';
import { addPeer } from '../../src/config/edit.js';
import { setConfig } from '../../src/cli/config-commands.js';
import { configPath, readConfig, writeConfigText } from '../../src/config/file.js';
import { controlRequest } from '../../src/status/control.js';
import { cleanup, runCli, type TestNode, startPairedNodes } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let base: string;
let a: TestNode;
let b: TestNode;
/** alpha's login URL, from `wizard gui --json`: unused until the browser opens it. */
let loginUrl: string;
/** alpha's long-lived token (HOME/gui-token), for bearer requests. */
let token: string;
let origin: string;
let port: number;
/** A conflict copy of report.txt holding beta's edit, and one with a hostile name. */
let copyName: string;
const HOSTILE = '<img src=x onerror=window.pwned=1>\u202Etxt.exe';
/** What alpha's config calls beta: markup and a bidi override, as a peer's chosen name may hold. */
const HOSTILE_PEER = '<img src=x onerror=window.pwned=2>\u202Eateb';
const PEER_SHOWN = '<img src=x onerror=window.pwned=2>\\u{202e}ateb';
/** Files beta deletes at once while alpha's deletion budget is one a minute: held until resumed. */
const HELD = ['held-1.txt', 'held-2.txt', 'held-3.txt'];

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request with exactly these headers (Host included: fetch would not let us set it). */
function request(method: string, pathName: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathName, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The path and query of a fresh login URL, asked of the daemon in this process (as `wizard gui` asks it). */
async function freshLogin(): Promise<string> {
  const url = new URL(await guiUrl(a.home));
  return url.pathname + url.search;
}

/** Logs in with a fresh one-time code and returns the session cookie (name=value). */
async function login(): Promise<string> {
  const res = await request('GET', await freshLogin(), {});
  return (res.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
}

const invitesOnDisk = () => {
  try {
    return (JSON.parse(readFileSync(path.join(a.home, 'invites.json'), 'utf8')) as { invites: unknown[] }).invites.length;
  } catch {
    return 0;
  }
};

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('gui'));
  // A conflict copy of report.txt holding beta's edit, as the daemon names one; a file the peer then deletes (alpha's trash keeps it).
  copyName = `report.sync-conflict-20260101-120000-beta-${b.id.slice(0, 7)}.txt`;
  writeFileSync(path.join(a.folder, 'report.txt'), 'mine');
  writeFileSync(path.join(a.folder, copyName), 'theirs');
  writeFileSync(path.join(a.folder, 'old.txt'), 'keep me');
  for (const n of HELD) writeFileSync(path.join(a.folder, n), n);
  await waitFor('old.txt and the held-*.txt on beta', () => ['old.txt', ...HELD].every((n) => existsSync(path.join(b.folder, n))), 15_000);
  rmSync(path.join(b.folder, 'old.txt'));
  await waitFor("old.txt in alpha's trash", () => readdirSync(path.join(a.folder, '.wizard', 'trash')).some((n) => n.startsWith('old.txt~')), 15_000);
  // Then alpha takes one deletion a minute from peers (applied when the reload answers): beta's three are held until someone resumes the folder (the page does).
  await setConfig(a.home, [['deletionBudget.perMinute', 1]], () => controlRequest(a.home, { cmd: 'reload' }).then(() => true));
  for (const n of HELD) rmSync(path.join(b.folder, n));
  await waitFor('deletions held on alpha', async () => ((await a.daemon?.status())?.folders.find((f) => f.id === 'shared')?.heldDeletions ?? 0) > 0, 15_000);
  const res = await runCli(a.home, ['gui', '--json']);
  expect(res.code, res.stderr).toBe(0);
  loginUrl = (JSON.parse(res.stdout) as { url: string }).url;
  origin = new URL(loginUrl).origin;
  port = Number(new URL(loginUrl).port);
  token = readFileSync(path.join(a.home, 'gui-token'), 'utf8').trim();
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

describe('the web server, over plain HTTP', () => {
  it("'wizard gui [--json]' gives a one-time URL whose code becomes an HttpOnly, SameSite=Strict cookie once, and leaves the address", async () => {
    expect(loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?login=[A-Za-z0-9_-]{43}$/);
    // Without --json, the URL alone (`xdg-open "$(wizard gui)"`), with a code of its own.
    const plain = (await runCli(a.home, ['gui'])).stdout;
    expect(plain).toMatch(new RegExp(`^${origin.replace(/\./g, '\\.')}/\\?login=[A-Za-z0-9_-]{43}\n$`));
    expect(plain).not.toBe(`${loginUrl}\n`);
    const once = new URL(plain.trim());
    const res = await request('GET', once.pathname + once.search, {});
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect(res.headers['set-cookie']?.[0]).toMatch(new RegExp(`^wizard-${port}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
    // Spent: the same URL again is refused, with or without the cookie it gave.
    const cookie = (res.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    for (const headers of [{}, { cookie }] as Record<string, string>[]) expect((await request('GET', once.pathname + once.search, headers)).status).toBe(401);
    const page = await request('GET', '/', { cookie });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });

  it('refuses a request without the token or the cookie (401), or whose Host is not this machine (403), saying nothing else', async () => {
    const cookie = await login();
    const rebound = await freshLogin();
    const refused: Array<[string, Reply, number]> = [
      ['the page, bare', await request('GET', '/', {}), 401],
      ['the API, bare', await request('GET', '/api/status', {}), 401],
      ['the live stream, bare', await request('GET', '/events', {}), 401],
      ['the script, bare', await request('GET', '/app.js', {}), 401],
      ['a made-up login code', await request('GET', `/?login=${'x'.repeat(43)}`, {}), 401],
      ['the long-lived token as a login', await request('GET', `/?token=${token}`, {}), 401],
      ['a made-up cookie', await request('GET', '/api/status', { cookie: `wizard-${port}=${'y'.repeat(43)}` }), 401],
      ['a change, bare', await request('POST', '/api/resume', { 'content-type': 'application/json', origin }, '{"folder":"shared"}'), 401],
      ['the login, rebound', await request('GET', rebound, { host: `evil.example:${port}` }), 403],
      ['a session, rebound', await request('GET', '/api/status', { host: `evil.example:${port}`, cookie }), 403],
      ['a session, another port', await request('GET', '/api/status', { host: `127.0.0.1:${port + 1}`, cookie }), 403],
    ];
    for (const [what, res, status] of refused) {
      expect([what, res.status, res.body]).toEqual([what, status, status === 401 ? 'Unauthorized\n' : 'Forbidden\n']);
      expect(res.headers['set-cookie'], what).toBeUndefined();
    }
  });

  it('refuses a change from a session without each CSRF proof, and makes nothing', async () => {
    const cookie = await login();
    const csrf = (JSON.parse((await request('GET', '/api/session', { cookie })).body) as { csrf: string }).csrf;
    const good = { cookie, 'content-type': 'application/json', origin, 'x-wizard-csrf': csrf, 'sec-fetch-site': 'same-origin' };
    const body = '{"folders":[]}';
    const before = invitesOnDisk();
    const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
    const cases: Array<[string, Record<string, string>, string?]> = [
      ['no CSRF token', without('x-wizard-csrf')],
      ['a wrong CSRF token', { ...good, 'x-wizard-csrf': 'z'.repeat(43) }],
      ['no Origin', without('origin')],
      ['a foreign Origin', { ...good, origin: 'http://evil.example' }],
      ['a foreign Origin at our port on another name', { ...good, origin: `http://evil.example:${port}` }],
      ['Sec-Fetch-Site cross-site', { ...good, 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site same-site', { ...good, 'sec-fetch-site': 'same-site' }],
      ['a form body', { ...good, 'content-type': 'application/x-www-form-urlencoded' }],
      ['a text body', { ...good, 'content-type': 'text/plain' }],
    ];
    for (const [what, headers] of cases) {
      const res = await request('POST', '/api/invite', headers, body);
      expect([what, res.status, res.body]).toEqual([what, 403, 'Forbidden\n']);
    }
    // A change by GET, or by another method, is no change.
    expect((await request('GET', '/api/invite', { cookie })).status).toBe(404);
    expect((await request('PUT', '/api/invite', good, body)).status).toBe(403);
    expect(invitesOnDisk()).toBe(before);
    // With every proof it goes through, and so does a script's bearer request (no cookie, so no CSRF to guard against).
    expect((await request('POST', '/api/invite', good, body)).status).toBe(200);
    expect((await request('POST', '/api/invite', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body)).status).toBe(200);
    expect(invitesOnDisk()).toBe(before + 2);
  });

  it("answers a change the CLI would refuse with the CLI's one line, as 400", async () => {
    const cookie = await login();
    const csrf = (JSON.parse((await request('GET', '/api/session', { cookie })).body) as { csrf: string }).csrf;
    const headers = { cookie, 'content-type': 'application/json', origin, 'x-wizard-csrf': csrf };
    const res = await request('POST', '/api/conflicts/keep', headers, JSON.stringify({ folder: 'shared', path: '../../etc/passwd', keep: 'mine' }));
    expect([res.status, JSON.parse(res.body)]).toEqual([400, { error: "../../etc/passwd is not a path inside folder 'shared'" }]);
    const expired = await request('POST', '/api/invite', headers, JSON.stringify({ folders: ['nope'] }));
    expect(expired.status).toBe(400);
  });

  it("'wizard gui' without a running daemon says so in one line", async () => {
    // In this process: a CLI start costs a quarter of a second of CPU, and main.ts prints any error's message as its one line.
    await expect(guiUrl(path.join(base, 'nowhere'))).rejects.toThrow(/^no Wizard daemon is running with home \S+; start it with 'wizard start --home \S+'$/);
  });
});

describe.skipIf(!hasChromium)('the page, in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('is refused without the token; loads from the URL (a second browser opening it is refused), shows the folder and the peer live, resumes held deletions, pauses and unpauses the folder, resolves a conflict, restores from the trash, makes an invite code and edits limits, the ignore list and sharing', async () => {
    // Without the token: 401 and nothing else. On a page of its own: its refusals, the page's and its icon's,
    // are console errors, and the icon's can come after the page has loaded.
    const refused = await browser.newPage();
    const bare = await refused.goto(`${origin}/`);
    expect([bare?.status(), await refused.textContent('body')]).toEqual([401, 'Unauthorized\n']);
    await refused.close();
    // From here on, the logged-in page shows no console error but the one a refused setting makes.
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (m) => (m.type() === 'error' ? problems.push(`${m.text()} (${m.location().url})`) : undefined));
    await page.goto(loginUrl);
    // Logged in, and the code is out of the address bar.
    expect(page.url()).toBe(`${origin}/`);
    // The URL is spent: another browser (no cookie) opening it gets 401 and nothing else.
    const second = await browser.newPage();
    const replay = await second.goto(loginUrl);
    expect([replay?.status(), await second.textContent('body')]).toEqual([401, 'Unauthorized\n']);
    await second.close();
    const folder = page.locator('tr[data-folder="shared"]');
    await expect.poll(() => folder.textContent()).toContain(a.folder);
    const peer = page.locator(`tr[data-peer="${b.id}"]`);
    await expect.poll(() => peer.textContent()).toContain('connected');

    // The live view: a file made now shows in the folder's count.
    const files = async () => Number((await folder.locator('td.num').first().textContent()) ?? -1);
    const before = await files();
    writeFileSync(path.join(a.folder, 'new.txt'), 'live');
    await expect.poll(files, { timeout: 10_000 }).toBe(before + 1);

    // Held deletions, and Resume (wizard resume): beta's deletions go through, to alpha's trash.
    await expect.poll(() => folder.textContent()).toMatch(/\d deletions held/);
    await folder.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => HELD.filter((n) => existsSync(path.join(a.folder, n))), { timeout: 10_000 }).toEqual([]);
    await expect.poll(() => folder.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    await setConfig(a.home, [['deletionBudget.perMinute', 1000]], () => controlRequest(a.home, { cmd: 'reload' }).then(() => true));

    // Pause and unpause (wizard folder pause|unpause): the folder says paused, the file says so, and it comes back.
    await folder.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect.poll(() => folder.locator('td').nth(1).textContent()).toBe('paused');
    expect(readFileSync(configPath(a.home), 'utf8')).toMatch(/^\s+paused: true$/m);
    await folder.getByRole('button', { name: 'Unpause' }).click();
    await expect.poll(() => folder.getByRole('button', { name: 'Pause', exact: true }).count()).toBe(1);
    await expect.poll(() => folder.locator('td').nth(1).textContent(), { timeout: 10_000 }).not.toBe('paused');
    expect(readFileSync(configPath(a.home), 'utf8')).not.toMatch(/^\s+paused:/m);

    if (process.env.WIZARD_SCREENSHOT === '1') {
      mkdirSync(path.join(repo, 'docs', 'images'), { recursive: true });
      await page.screenshot({ path: path.join(repo, 'docs', 'images', 'gui.png'), fullPage: true });
    }

    // Hostile names are text: a conflict copy's and a peer's (as alpha's config names beta), shown live; no script ran, and the bidi overrides show as escapes.
    writeFileSync(path.join(a.folder, `${HOSTILE}.sync-conflict-20260101-120000-beta-${b.id.slice(0, 7)}`), 'x');
    // Written whole (temp and rename), as the CLI writes it: the page reads the config on its own requests, and a half-written file would fail them.
    writeConfigText(a.home, addPeer(readFileSync(configPath(a.home), 'utf8'), { id: b.id, name: HOSTILE_PEER, address: '' }));
    await expect.poll(() => peer.textContent(), { timeout: 10_000 }).toContain(PEER_SHOWN);
    const hostile = page.locator('tr[data-conflict]', { hasText: 'txt.exe' });
    await expect.poll(() => hostile.textContent(), { timeout: 10_000 }).toContain('<img src=x onerror=window.pwned=1>\\u{202e}txt.exe');
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    // Keep theirs: the copy holds beta's edit, so it replaces the file, and the file goes to the trash.
    await page.locator(`tr[data-conflict="${copyName}"]`).getByRole('button', { name: 'Keep theirs' }).click();
    await expect.poll(() => page.locator(`tr[data-conflict="${copyName}"]`).count()).toBe(0);
    expect(readFileSync(path.join(a.folder, 'report.txt'), 'utf8')).toBe('theirs');
    expect(existsSync(path.join(a.folder, copyName))).toBe(false);

    // The trash: search, then restore.
    await page.getByRole('searchbox', { name: 'search the trash' }).fill('old*');
    const entry = page.locator('tr[data-trash^="old.txt~"]');
    await expect.poll(() => page.locator('tr[data-trash]').count()).toBe(1);
    await entry.getByRole('button', { name: 'Restore' }).click();
    await expect.poll(() => page.getByText('Restored shared/old.txt').count()).toBe(1);
    expect(readFileSync(path.join(a.folder, 'old.txt'), 'utf8')).toBe('keep me');

    // An invite code sharing the folder, listed as open.
    await page.getByRole('checkbox', { name: 'shared', exact: true }).check();
    await page.getByRole('button', { name: 'Make an invite code' }).click();
    const code = page.locator('[data-invite-code]');
    await expect.poll(() => code.textContent()).toMatch(/^wizard join WZ-[A-Z0-9-]+@127\.0\.0\.1:\d+$/);
    // And one with no address (wizard invite --lan), whose joiner finds alpha on the LAN.
    await page.getByRole('checkbox', { name: 'no address: found on the LAN' }).check();
    await page.getByRole('button', { name: 'Make an invite code' }).click();
    await expect.poll(() => code.textContent()).toMatch(/^wizard join WZ(-[2-9A-HJ-NP-Z]{1,4}){13}$/);

    // /metrics with the page's cookie parses as Prometheus text (polled: the rename above may have restarted the link).
    const connectedMetric = async () => {
      const metrics = await page.request.get(`${origin}/metrics`);
      expect(metrics.status()).toBe(200);
      const families = new Map(parsePrometheusTextFormat(await metrics.text()).map((f) => [f.name, f]));
      return families.get('wizard_peer_connected')?.metrics;
    };
    await expect.poll(connectedMetric, { timeout: 10_000 }).toContainEqual({ value: '1', labels: { peer: b.id, peer_name: HOSTILE_PEER } });

    // Settings go through the config's own validation: a refused value is shown in its words and not written.
    const configText = () => readFileSync(path.join(a.home, 'config.yaml'), 'utf8');
    const before99 = configText();
    await page.getByRole('spinbutton', { name: 'Transfers' }).fill('99');
    await page.getByRole('button', { name: 'Save limits' }).click();
    await expect.poll(() => page.locator('[data-settings-problem]').textContent()).toMatch(/config\.yaml:\d+: limits\.transfers must be a whole number from 1 to 64 \(got 99\)$/);
    expect(configText()).toBe(before99);
    // (The 400 is a console error of its own; none other may come.)
    expect(problems.splice(0)).toEqual([expect.stringMatching(/^Failed to load resource: the server responded with a status of 400 \(Bad Request\) \(http:\/\/127\.0\.0\.1:\d+\/api\/[a-z-]+\)$/)]);
    await page.getByRole('spinbutton', { name: 'Transfers' }).fill('8');
    await page.getByRole('button', { name: 'Save limits' }).click();
    await expect.poll(async () => (await a.daemon?.status())?.settings.limits.transfers).toBe(8);
    await expect.poll(() => page.getByText('Limits saved; the daemon applied them.').count()).toBe(1);
    await page.getByRole('textbox', { name: 'ignore list' }).fill('*.tmp\nbuild/');
    await page.getByRole('button', { name: 'Save ignore list' }).click();
    await expect.poll(() => readFileSync(path.join(a.home, 'ignore'), 'utf8')).toBe('*.tmp\nbuild/\n');
    // Sharing: off, then on again, as 'wizard folder unshare/share' write it.
    const shareBox = page.getByRole('checkbox', { name: `share shared with ${PEER_SHOWN}` });
    expect(await shareBox.isChecked()).toBe(true);
    const shareWith = () => readConfig(a.home, { homeDir: os.homedir() }).config.folders.find((f) => f.id === 'shared')?.shareWith;
    await shareBox.click();
    await expect.poll(shareWith).toEqual([]);
    await expect.poll(() => shareBox.isChecked()).toBe(false);
    await shareBox.click();
    await expect.poll(shareWith).toEqual([b.id]);

    expect(problems, problems.join('\n')).toEqual([]);
  });
});
