/**
 * The one-time code `wizard invite` prints and `wizard join` takes. Pure:
 * values in, text out, and back.
 *
 *     WZ-7KQ4-M2XD-...-HF3A@192.168.1.20:7842
 *     WZ-7KQ4-M2XD-...-HF3A          (no address: find the inviter on the LAN)
 *
 * It carries 120 bits of secret (authorises one signing, never sent), 120
 * bits of the CA certificate's SHA-256 (the joiner's pin on the inviter's
 * CA), and a 16-bit check over both and the address, so a mistyped code is
 * caught on the joining machine before it dials anything, and never burns
 * the invite. The secret's 120 bits are what make an HMAC keyed by it safe:
 * nothing in the exchange lets an observer test guesses offline in any
 * useful time (TRUST.md section 1, "high-entropy code, no PAKE").
 *
 * The alphabet has no look-alikes: 2-9 and A-Z without I and O (so neither
 * 0/O nor 1/I/L can be confused); case is ignored, and so are spaces.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../core/errors.js';

/** Bytes of secret in a code. */
export const SECRET_BYTES = 15;
/** Bytes of the CA fingerprint a code carries (its first bytes). */
export const PIN_BYTES = 15;
const CHECK_BYTES = 2;
const PREFIX = 'WZ';
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const GROUP = 4;

/** What a code holds. */
export interface InviteCode {
  readonly secret: Buffer;
  /** The first PIN_BYTES of the SHA-256 of the CA certificate's DER. */
  readonly caPin: Buffer;
  /** host:port to dial; '' when the code names none and the joiner looks for the inviter on the LAN. */
  readonly address: string;
}

/** The code's text. */
export function formatInviteCode(code: InviteCode): string {
  if (code.secret.length !== SECRET_BYTES || code.caPin.length !== PIN_BYTES) throw new Error('invite code: wrong secret or pin length');
  const payload = Buffer.concat([code.secret, code.caPin, checkOf(code.secret, code.caPin, code.address)]);
  const letters = base32(payload);
  const groups = letters.match(new RegExp(`.{1,${GROUP}}`, 'g')) ?? [];
  return `${PREFIX}-${groups.join('-')}${code.address === '' ? '' : `@${code.address}`}`;
}

/** Reads a code as typed; throws a UsageError (one line) when it is not one or was mistyped. */
export function parseInviteCode(text: string): InviteCode {
  const typed = text.trim();
  const at = typed.lastIndexOf('@');
  const head = at < 0 ? typed : typed.slice(0, at);
  const address = at < 0 ? '' : typed.slice(at + 1).trim();
  const letters = head.replace(/[\s-]/g, '').toUpperCase();
  if (!letters.startsWith(PREFIX) || (at >= 0 && address === '')) {
    throw new UsageError("that is not a Wizard invite code (it looks like WZ-XXXX-...-XXXX, with @HOST:PORT or not); run 'wizard invite' on the inviting machine");
  }
  const bytes = unbase32(letters.slice(PREFIX.length));
  if (bytes === undefined || bytes.length !== SECRET_BYTES + PIN_BYTES + CHECK_BYTES) {
    throw new UsageError('the invite code is mistyped: wrong length or a character that is not in its alphabet (2-9 and A-Z without I and O)');
  }
  const secret = bytes.subarray(0, SECRET_BYTES);
  const caPin = bytes.subarray(SECRET_BYTES, SECRET_BYTES + PIN_BYTES);
  if (!checkOf(secret, caPin, address).equals(bytes.subarray(SECRET_BYTES + PIN_BYTES))) {
    throw new UsageError('the invite code is mistyped or altered: its check does not match; copy it again');
  }
  return { secret: Buffer.from(secret), caPin: Buffer.from(caPin), address };
}

/** The public handle of an invite: derived from the secret one way, so sending it reveals nothing of the secret. */
export function inviteIdOf(secret: Uint8Array): string {
  return createHash('sha256').update('wizard-invite-id\0').update(secret).digest('hex').slice(0, 32);
}

function checkOf(secret: Uint8Array, caPin: Uint8Array, address: string): Buffer {
  return createHash('sha256').update(secret).update(caPin).update(address, 'utf8').digest().subarray(0, CHECK_BYTES);
}

function base32(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | undefined {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >> (bits - 8)) & 0xff);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  // Padding bits must be zero, so one payload has exactly one spelling.
  if (acc !== 0) return undefined;
  return Buffer.from(out);
}
