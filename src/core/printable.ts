/**
 * Escaping of strings that peers or the disk chose (node names, paths)
 * before they reach a terminal.
 */

// C0 and C1 controls (ESC, CSI, BEL, CR...) can move the cursor, retitle the
// terminal or hide text; bidi overrides and isolates can reorder what is shown.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Escapes control and bidi characters as `\xNN` / `\u{NNNN}`, so a hostile name cannot drive the terminal. */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
