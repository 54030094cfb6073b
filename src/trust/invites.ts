/**
 * The invites a node holding the CA key has handed out, kept in the home's
 * invites.json (owner-only) so that a restart neither forgets an open invite
 * nor lets a used one work again. An invite works once: a join that proves
 * the secret uses it up, and so does one that fails to (an active attacker
 * gets one guess, and the invite is gone), so a code is never worth a second try.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WizardError, describeError } from '../core/errors.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { inviteIdOf, SECRET_BYTES } from './invite-code.js';

/** One invite as stored. */
export interface Invite {
  /** Public handle (inviteIdOf the secret). */
  readonly id: string;
  /** Hex of the secret. */
  readonly secret: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  /** Folder IDs shared with the node that joins by it. */
  readonly folders: readonly string[];
  /** open: may be used; used: a node joined by it; burned: a join failed to prove the secret. */
  readonly state: 'open' | 'used' | 'burned';
  /** The node that joined by it. */
  readonly joined?: string;
}

/** An invite as it may be shown: everything but its secret. */
export type InviteView = Omit<Invite, 'secret'>;

/** Why an invite cannot be used: the words the joining machine shows. */
export type InviteRefusal = 'unknown' | 'used' | 'expired' | 'burned' | 'wrong-proof';

/** One line per refusal, as the joining machine prints it. */
export const REFUSAL_TEXT: Readonly<Record<InviteRefusal, string>> = {
  unknown: "the inviting node does not know this code (wrong node, or a code it never made); ask for a new one with 'wizard invite'",
  used: "this invite code was used already: a code works once; ask for a new one with 'wizard invite'",
  expired: "this invite code has expired; ask for a new one with 'wizard invite'",
  burned: "this invite code was withdrawn after a failed attempt to use it; ask for a new one with 'wizard invite'",
  'wrong-proof': "the code did not prove its secret (tampered with, or mistyped): the invite is now withdrawn; ask for a new one with 'wizard invite'",
};

/** Used and expired invites are kept this long after expiry, so a late try says "used" or "expired", not "unknown". */
const KEEP_AFTER_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000;
const FILE = 'invites.json';

/** The invites file of a home. */
export function invitesPath(home: string): string {
  return path.join(home, FILE);
}

/** The invites of one home; every change is on disk before it returns. */
export class InviteBook {
  constructor(
    private readonly file: string,
    private readonly now: () => number,
  ) {}

  /** Makes and stores a new open invite; returns it with its secret. */
  create(folders: readonly string[], ttlMs: number): { invite: Invite; secret: Buffer } {
    const secret = randomBytes(SECRET_BYTES);
    const now = this.now();
    const invite: Invite = { id: inviteIdOf(secret), secret: secret.toString('hex'), createdAtMs: now, expiresAtMs: now + ttlMs, folders: [...folders], state: 'open' };
    this.save([...this.live(), invite]);
    return { invite, secret };
  }

  /**
   * Uses up invite `id`: `proves(secret)` says whether the joiner proved the
   * secret. A failed proof withdraws the invite (one guess per invite). The
   * new state is on disk before this returns, so a crash right after cannot
   * let the invite work twice.
   */
  redeem(id: string, proves: (secret: Buffer) => boolean, joined: string): { ok: true; invite: Invite } | { ok: false; why: InviteRefusal } {
    const all = this.live();
    const at = all.findIndex((i) => i.id === id);
    const found = all[at];
    if (found === undefined) return { ok: false, why: 'unknown' };
    if (found.state === 'used') return { ok: false, why: 'used' };
    if (found.state === 'burned') return { ok: false, why: 'burned' };
    if (found.expiresAtMs <= this.now()) return { ok: false, why: 'expired' };
    const ok = proves(Buffer.from(found.secret, 'hex'));
    const next: Invite = ok ? { ...found, state: 'used', joined } : { ...found, state: 'burned' };
    all[at] = next;
    this.save(all);
    return ok ? { ok: true, invite: next } : { ok: false, why: 'wrong-proof' };
  }

  /** The invites kept (open, used, burned, and expired ones for a week), oldest first, without their secrets. */
  list(): InviteView[] {
    return this.live().map(({ secret: _secret, ...view }) => view);
  }

  /** Invites not yet past their keeping time. */
  private live(): Invite[] {
    const cutoff = this.now() - KEEP_AFTER_EXPIRY_MS;
    return this.read().filter((i) => i.expiresAtMs > cutoff);
  }

  private read(): Invite[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new WizardError('CONFIG', `cannot read ${this.file}: ${describeError(err)}`, { cause: err });
    }
    try {
      const parsed = JSON.parse(text) as { invites?: unknown };
      return Array.isArray(parsed.invites) ? (parsed.invites as Invite[]) : [];
    } catch (err) {
      throw new WizardError('CONFIG', `${this.file} is damaged (${describeError(err)}); remove it to forget every invite`, { cause: err });
    }
  }

  private save(invites: readonly Invite[]): void {
    writeFileAtomic(this.file, `${JSON.stringify({ invites }, null, 1)}\n`, 0o600);
  }
}
