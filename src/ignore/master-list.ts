/**
 * The master ignore list (HOME/ignore) as the web page reads and writes it.
 * The daemon watches the file and applies a change within a second, as it
 * does for an edit in a text editor; this only checks the text first and
 * writes it whole (atomically, owner-only), so a half-written list is never
 * read. Gitignore syntax has no invalid line, so the checks are on the text:
 * not too big, no NUL byte (not a text file), and it compiles.
 */
import { readFileSync } from 'node:fs';
import { ignorePath } from '../config/file.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { UsageError } from '../core/errors.js';
import { compileIgnore } from './matcher.js';

/** Largest list accepted: a list of patterns, not a file list. */
export const MAX_IGNORE_BYTES = 256 * 1024;

/** The master list's text; '' when there is none. */
export function readMasterIgnore(home: string): string {
  try {
    return readFileSync(ignorePath(home), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Checks `text` as an ignore list and writes it as the master list; a UsageError says what is wrong. */
export function writeMasterIgnore(home: string, text: string): { lines: number } {
  if (Buffer.byteLength(text) > MAX_IGNORE_BYTES) throw new UsageError(`the ignore list is over ${MAX_IGNORE_BYTES / 1024} KiB; it is for patterns (*.tmp, build/), not for lists of files`);
  const nul = text.split(/\r?\n/).findIndex((line) => line.includes('\0'));
  if (nul >= 0) throw new UsageError(`line ${nul + 1} of the ignore list holds a NUL byte; it must be text`);
  compileIgnore([{ text, base: '' }]);
  const normalised = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  writeFileAtomic(ignorePath(home), normalised, 0o600);
  return { lines: normalised.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length };
}
