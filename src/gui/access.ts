/**
 * Who may use the daemon's web server, decided from a request's headers
 * alone. Pure: headers in, a verdict out.
 *
 * - The Host header must name this machine's loopback at our port: a page on
 *   some web site whose name an attacker points at 127.0.0.1 (DNS rebinding)
 *   sends its own name as Host and is refused before anything else.
 * - Then the token, as a bearer (a script, or a Prometheus scraper's
 *   `credentials_file`), or a browser's session cookie. Without either, 401
 *   and nothing else.
 * - A state-changing request from a browser (cookie) must also prove it
 *   comes from our own page (checkCsrf); a bearer is never sent by a browser
 *   on its own, so a request carrying one needs no such proof.
 */
import { isGuiToken } from './token.js';
import { cookieValue, type Session, type SessionBook } from './sessions.js';

/** What a request showed. */
export interface RequestHeaders {
  readonly host: string | undefined;
  readonly authorization: string | undefined;
  readonly cookie?: string | undefined;
}

/** Allowed (by bearer, or by a session), or refused with the status to answer and why (for the log). */
export type AccessVerdict =
  | { readonly ok: true; readonly session?: Session }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

/** The Host values that name this server: the loopback names at `port`. */
export function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Whether the Host header names this server. */
export function isOurHost(host: string | undefined, hosts: ReadonlySet<string>): boolean {
  return host !== undefined && hosts.has(host.toLowerCase());
}

/** Decides whether a request may be answered. */
export function checkAccess(req: RequestHeaders, token: string, hosts: ReadonlySet<string>, sessions?: { book: SessionBook; cookie: string }): AccessVerdict {
  if (!isOurHost(req.host, hosts)) return { ok: false, status: 403, reason: 'Host is not this machine' };
  const bearer = /^Bearer (\S+)$/i.exec(req.authorization ?? '')?.[1];
  if (isGuiToken(token, bearer)) return { ok: true };
  const session = sessions?.book.find(cookieValue(req.cookie, sessions.cookie));
  if (session !== undefined) return { ok: true, session };
  return { ok: false, status: 401, reason: 'no valid token or session' };
}

/** What a state-changing request showed, beyond what checkAccess read. */
export interface ChangeHeaders {
  readonly method: string | undefined;
  readonly contentType: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly csrf: string | undefined;
}

/**
 * Whether a state-changing request may go on. Always: POST with a JSON body
 * (a plain HTML form cannot send one). From a browser session also: the
 * session's CSRF token in X-Wizard-Csrf (another site can neither read it
 * nor set the header without a preflight we never grant), an Origin that is
 * this server, and no Sec-Fetch-Site other than same-origin.
 */
export function checkCsrf(req: ChangeHeaders, session: Session | undefined, hosts: ReadonlySet<string>): { ok: true } | { ok: false; reason: string } {
  if (req.method !== 'POST') return { ok: false, reason: 'changes are POST only' };
  if (!/^application\/json(;|$)/i.test(req.contentType ?? '')) return { ok: false, reason: 'a change needs a JSON body' };
  if (session === undefined) return { ok: true };
  if (!isGuiToken(session.csrf, req.csrf)) return { ok: false, reason: 'no valid CSRF token' };
  const origin = /^http:\/\/(.+)$/i.exec(req.origin ?? '')?.[1];
  if (origin === undefined || !hosts.has(origin.toLowerCase())) return { ok: false, reason: 'Origin is not this server' };
  if (req.secFetchSite !== undefined && req.secFetchSite !== 'same-origin') return { ok: false, reason: `Sec-Fetch-Site is ${req.secFetchSite}` };
  return { ok: true };
}
