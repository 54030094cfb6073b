/**
 * One-time login codes for the web page. `wizard gui` asks the daemon for
 * one (control request `gui-login`) and prints a URL carrying it; the page's
 * first request swaps it for a session cookie. A code works once and for a
 * minute, so the URL is worth nothing once opened, and nothing in a shell's
 * history, a terminal's scrollback or the browser's history opens the page
 * again later (the long-lived token of HOME/gui-token never goes in a URL:
 * it stays for scripts and Prometheus, as a bearer).
 *
 * Codes are kept by their SHA-256, so a lookup's timing says nothing about
 * a code's text, and the memory holds nothing a dump could replay. Pure
 * apart from the injected clock.
 */
import { createHash, randomBytes } from 'node:crypto';

/** How long a code works: long enough to paste the URL into a browser. */
export const LOGIN_CODE_TTL_MS = 60_000;
/** Codes open at once; the oldest goes when a new one would pass this. */
const MAX_OPEN_CODES = 16;

const digestOf = (code: string): string => createHash('sha256').update(code, 'utf8').digest('hex');

/** The open login codes of one web server. */
export class LoginCodes {
  /** Expiry by the code's SHA-256, oldest first. */
  private readonly open = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly ttlMs = LOGIN_CODE_TTL_MS,
  ) {}

  /** A new code (32 random bytes, base64url), valid for `ttlMs` and one use. */
  issue(): string {
    const code = randomBytes(32).toString('base64url');
    this.open.set(digestOf(code), this.now() + this.ttlMs);
    for (const old of this.open.keys()) {
      if (this.open.size <= MAX_OPEN_CODES) break;
      this.open.delete(old);
    }
    return code;
  }

  /** Whether `code` is open and not expired; either way it is used up. */
  redeem(code: string): boolean {
    const key = digestOf(code);
    const expiresAtMs = this.open.get(key);
    this.open.delete(key);
    return expiresAtMs !== undefined && this.now() < expiresAtMs;
  }
}
