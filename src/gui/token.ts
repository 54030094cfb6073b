/**
 * The secret that lets a browser or a Prometheus scraper into the daemon's
 * web server: 32 random bytes, base64url, in HOME/gui-token (mode 0600, so
 * only the user who runs Wizard can read it). Made on first use and kept,
 * so a scraper's `credentials_file` keeps working across restarts.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the token lives in a home. */
export function guiTokenPath(home: string): string {
  return join(home, 'gui-token');
}

/** Reads the home's token, making it first if there is none (or it is too short to be ours). */
export function loadOrCreateGuiToken(home: string): string {
  const file = guiTokenPath(home);
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{43,}$/.test(text)) return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  // The open mode is filtered by the umask, and an existing file keeps its mode.
  chmodSync(file, 0o600);
  return token;
}

/** Whether `given` is the token, compared in constant time. */
export function isGuiToken(token: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(token);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
