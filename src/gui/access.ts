/**
 * Who may use the daemon's web server, decided from a request's headers
 * alone. Pure: headers in, a verdict out.
 *
 * - The Host header must name this machine's loopback at our port: a page on
 *   some web site whose name an attacker points at 127.0.0.1 (DNS rebinding)
 *   sends its own name as Host and is refused before anything else.
 * - Then the token, as a bearer (a Prometheus scraper's `credentials_file`).
 *   Without it, 401 and nothing else.
 */
import { isGuiToken } from './token.js';

/** What a request showed. */
export interface RequestHeaders {
  readonly host: string | undefined;
  readonly authorization: string | undefined;
}

/** Allowed, or refused with the status to answer and why (for the log). */
export type AccessVerdict = { readonly ok: true } | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

/** The Host values that name this server: the loopback names at `port`. */
export function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Decides whether a request may be answered. */
export function checkAccess(req: RequestHeaders, token: string, hosts: ReadonlySet<string>): AccessVerdict {
  if (req.host === undefined || !hosts.has(req.host.toLowerCase())) return { ok: false, status: 403, reason: 'Host is not this machine' };
  const bearer = /^Bearer (\S+)$/i.exec(req.authorization ?? '')?.[1];
  if (isGuiToken(token, bearer)) return { ok: true };
  return { ok: false, status: 401, reason: 'no valid token' };
}
