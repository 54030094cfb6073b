import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatInviteCode, inviteIdOf, parseInviteCode, PIN_BYTES, SECRET_BYTES } from '../../src/trust/invite-code.js';

const code = () => ({ secret: randomBytes(SECRET_BYTES), caPin: randomBytes(PIN_BYTES), address: '192.168.100.200:7842' });

describe('invite codes', () => {
  it('round-trip, fit in about 100 characters with a LAN address, and use no look-alike characters', () => {
    for (let i = 0; i < 50; i++) {
      const c = code();
      const text = formatInviteCode(c);
      expect(text.length).toBeLessThanOrEqual(100);
      expect(text.split('@')[0]).not.toMatch(/[01IO]/);
      expect(parseInviteCode(text)).toEqual(c);
      // Read aloud and typed back: lower case and spaces for dashes are the same code.
      expect(parseInviteCode(text.toLowerCase().replace(/-/g, ' '))).toEqual(c);
    }
  });

  it('refuses a code with one character changed, before anything is dialed', () => {
    const text = formatInviteCode(code());
    const at = 8;
    const swapped = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    expect(() => parseInviteCode(swapped)).toThrow(/mistyped or altered/);
    // The address is covered by the check too.
    expect(() => parseInviteCode(text.replace('7842', '7843'))).toThrow(/mistyped or altered/);
  });

  it('refuses what is not a code, or has a character outside its alphabet', () => {
    expect(() => parseInviteCode('hello')).toThrow(/not a Wizard invite code/);
    const text = formatInviteCode(code());
    expect(() => parseInviteCode(text.replace(/-(.)/, '-0'))).toThrow(/mistyped/);
  });

  it('names the invite by a one-way handle of the secret', () => {
    const secret = randomBytes(SECRET_BYTES);
    expect(inviteIdOf(secret)).toMatch(/^[0-9a-f]{32}$/);
    expect(inviteIdOf(secret)).not.toContain(secret.toString('hex').slice(0, 8));
  });
});

describe('invite codes with no address', () => {
  it('round-trip without an @ (the joiner looks on the LAN), and an @ with nothing after it is not a code', () => {
    const c = { ...code(), address: '' };
    const text = formatInviteCode(c);
    expect(text).toMatch(/^WZ(-[2-9A-HJ-NP-Z]{1,4}){13}$/);
    expect(parseInviteCode(text)).toEqual(c);
    expect(() => parseInviteCode(`${text}@`)).toThrow(/not a Wizard invite code/);
    // The check covers the absence of an address: an address added to it is caught, as one changed is.
    expect(() => parseInviteCode(`${text}@192.0.2.1:7842`)).toThrow(/mistyped or altered/);
  });
});
