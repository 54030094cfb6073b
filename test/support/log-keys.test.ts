import { expect, it } from 'vitest';
import { duplicateTopLevelKeys } from './log-keys.js';

it('finds a key given twice at the top level, and only there', () => {
  expect(duplicateTopLevelKeys('{"level":30,"peer":"ab","peer":"ab","msg":"session closed"}')).toEqual(['peer']);
  expect(duplicateTopLevelKeys('{"peer":"a","err":{"peer":"b","msg":"x, \\"peer\\":"},"msg":"ok","list":["peer","peer"]}')).toEqual([]);
});
