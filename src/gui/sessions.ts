/**
 * Browser sessions of the web server: the token from `wizard gui`'s URL is
 * swapped for a random session ID in an HttpOnly, SameSite=Strict cookie, so
 * the token leaves the address bar at once and no script can read the
 * cookie. Each session has its own CSRF token, which the page sends back in
 * a header on every state-changing request. Held in memory: a restarted
 * daemon logs browsers out ('wizard gui' logs in again).
 */
import { randomBytes } from 'node:crypto';

/** Sessions kept at once; the oldest goes when a new one would pass this. */
const MAX_SESSIONS = 32;

/** One logged-in browser. */
export interface Session {
  readonly id: string;
  /** Sent back by the page in the X-Wizard-Csrf header on every POST. */
  readonly csrf: string;
}

/** The sessions of one web server. */
export class SessionBook {
  private readonly sessions = new Map<string, Session>();

  /** Opens a new session, dropping the oldest beyond the cap. */
  open(): Session {
    const session: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url') };
    this.sessions.set(session.id, session);
    for (const old of this.sessions.keys()) {
      if (this.sessions.size <= MAX_SESSIONS) break;
      this.sessions.delete(old);
    }
    return session;
  }

  /** The session a cookie value names, if it is one of ours. */
  find(id: string | undefined): Session | undefined {
    return id === undefined ? undefined : this.sessions.get(id);
  }
}

/** The cookie's name: per port, as browsers share cookies between the ports of one host (two daemons on one machine). */
export function sessionCookieName(port: number): string {
  return `wizard-${port}`;
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header for a session: HttpOnly (no script reads it), SameSite=Strict (no other site's request carries it). */
export function sessionCookie(name: string, session: Session): string {
  return `${name}=${session.id}; Path=/; HttpOnly; SameSite=Strict`;
}
