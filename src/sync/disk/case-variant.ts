/**
 * Case-only clashes: on a case-insensitive filesystem `Notes.txt` finds our
 * `notes.txt`, which is a clash to report, not a change to rescan.
 */
import { readdirSync } from 'node:fs';

/** A name in `names` equal to `name` but for letter case (and not `name` itself), if any. */
export function caseVariant(names: readonly string[], name: string): string | undefined {
  if (names.includes(name)) return undefined;
  const folded = name.normalize('NFC').toLowerCase();
  return names.find((n) => n.normalize('NFC').toLowerCase() === folded);
}

/** The names in `dir`, or none when it cannot be read. */
export function listNow(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
