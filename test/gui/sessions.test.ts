import { describe, expect, it } from 'vitest';
import { checkCsrf, loopbackHosts } from '../../src/gui/access.js';
import { cookieValue, SessionBook, sessionCookie, sessionCookieName } from '../../src/gui/sessions.js';

describe('web sessions', () => {
  it('finds a session by its cookie among others, and forgets the oldest beyond 32', () => {
    const book = new SessionBook();
    const first = book.open();
    const name = sessionCookieName(7843);
    const header = `other=1; ${sessionCookie(name, first).split(';')[0] ?? ''}; wizard-7844=zzz`;
    expect(cookieValue(header, name)).toBe(first.id);
    expect(book.find(cookieValue(header, name))).toBe(first);
    expect(book.find(cookieValue(header, 'wizard-7844'))).toBeUndefined();
    for (let i = 0; i < 32; i++) book.open();
    expect(book.find(first.id)).toBeUndefined();
  });

  it("a change by bearer needs POST and JSON only; one by a session needs the session's CSRF token and our Origin too", () => {
    const hosts = loopbackHosts(7843);
    const session = new SessionBook().open();
    const change = { method: 'POST', contentType: 'application/json', origin: undefined, secFetchSite: undefined, csrf: undefined };
    expect(checkCsrf(change, undefined, hosts)).toEqual({ ok: true });
    expect(checkCsrf({ ...change, method: 'GET' }, undefined, hosts).ok).toBe(false);
    expect(checkCsrf(change, session, hosts)).toEqual({ ok: false, reason: 'no valid CSRF token' });
    const good = { ...change, csrf: session.csrf, origin: 'http://localhost:7843', secFetchSite: 'same-origin' };
    expect(checkCsrf(good, session, hosts)).toEqual({ ok: true });
    expect(checkCsrf({ ...good, origin: 'https://127.0.0.1:7843' }, session, hosts).ok).toBe(false);
    expect(checkCsrf({ ...good, origin: 'http://127.0.0.1:7844' }, session, hosts).ok).toBe(false);
    expect(checkCsrf({ ...good, origin: 'null' }, session, hosts).ok).toBe(false);
  });
});
