import { expect, it } from 'vitest';
import { trashName } from '../../src/sync/trash.js';

const at = Date.UTC(2026, 10, 25, 9, 5, 7, 42);

it('names a trashed file by its path and the UTC time', () => {
  expect(trashName('docs/report.pdf', at)).toBe('docs/report.pdf~20261125-090507-042');
});

it('keeps a long name within the 255-byte limit, with room for a collision counter, without splitting a character', () => {
  const long = `dir/${'é'.repeat(127)}`; // 254 bytes
  const name = trashName(long, at).split('/').pop() as string;
  expect(Buffer.byteLength(`${name}-99`)).toBeLessThanOrEqual(255);
  expect(name.endsWith('~20261125-090507-042')).toBe(true);
  expect(name).not.toContain('\uFFFD');
});
