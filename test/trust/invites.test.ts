import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import { InviteBook } from '../../src/trust/invites.js';
import { formatInvites } from '../../src/cli/enrol-commands.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function book(now: { ms: number }): { book: InviteBook; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-invites-'));
  dirs.push(dir);
  const file = path.join(dir, 'invites.json');
  return { book: new InviteBook(file, () => now.ms), file };
}

describe('invite book', () => {
  it('an invite works once, and a second book on the same file (a restart) knows it was used', () => {
    const now = { ms: 1_000 };
    const { book: b, file } = book(now);
    const { invite, secret } = b.create(['docs'], 60_000);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = b.redeem(invite.id, (s) => s.equals(secret), 'n1');
    expect(first).toMatchObject({ ok: true, invite: { folders: ['docs'], state: 'used', joined: 'n1' } });
    expect(new InviteBook(file, () => now.ms).redeem(invite.id, () => true, 'n2')).toEqual({ ok: false, why: 'used' });
  });

  it('a failed proof withdraws the invite: the right secret after it is refused', () => {
    const now = { ms: 1_000 };
    const { book: b } = book(now);
    const { invite } = b.create([], 60_000);
    expect(b.redeem(invite.id, () => false, 'x')).toEqual({ ok: false, why: 'wrong-proof' });
    expect(b.redeem(invite.id, () => true, 'x')).toEqual({ ok: false, why: 'burned' });
  });

  it('refuses an expired invite and an unknown one', () => {
    const now = { ms: 1_000 };
    const { book: b } = book(now);
    const { invite } = b.create([], 60_000);
    now.ms += 60_000;
    expect(b.redeem(invite.id, () => true, 'x')).toEqual({ ok: false, why: 'expired' });
    expect(b.redeem('00'.repeat(16), () => true, 'x')).toEqual({ ok: false, why: 'unknown' });
  });

  it('lists the invites without their secrets, and `wizard invites` says who joined by each, by name', () => {
    const now = { ms: 1_000 };
    const { book: b } = book(now);
    const used = b.create(['docs'], 60_000);
    b.create([], 60_000);
    b.redeem(used.invite.id, () => true, 'a'.repeat(64));
    const list = b.list();
    expect(list.map((i) => i.state)).toEqual(['used', 'open']);
    expect(JSON.stringify(list)).not.toContain(used.invite.secret);
    now.ms = 120_000;
    const lines = formatInvites([{ ...list[0]!, joinedName: 'laptop\u001b[2J' }, list[1]!], now.ms);
    expect(lines[0]).toContain(`used by laptop\\x1b[2J (${'a'.repeat(64)})  until`);
    expect(lines[0]).toContain('shares docs');
    expect(lines[1]).toContain('  expired  ');
    expect(lines[1]).toContain('shares no folder');
  });
});
