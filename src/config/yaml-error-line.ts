/**
 * Where a YAML syntax error really is. The parser reports an unclosed quote
 * or bracket where it gave up (often the end of the file); the user needs the
 * line where the quoted value or `[`/`{` list began.
 */
import { Parser } from 'yaml';

/**
 * The offset where the quoted scalar or flow collection that holds `pos` and
 * was never closed begins; undefined when there is none (then `pos` itself
 * is the place to show).
 */
export function unclosedStart(text: string, pos: number): number | undefined {
  let start: number | undefined;
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const t = node as { type?: unknown; offset?: unknown; source?: unknown; end?: unknown };
    if (typeof t.offset === 'number' && t.offset <= pos && (start === undefined || t.offset > start)) {
      // A quoted scalar that runs on to `pos` without its closing quote.
      const quote = t.type === 'double-quoted-scalar' ? '"' : t.type === 'single-quoted-scalar' ? "'" : undefined;
      if (quote !== undefined && typeof t.source === 'string' && t.offset + t.source.length >= pos && !closes(t.source, quote)) start = t.offset;
      // A [ or { list with no closing bracket.
      if (t.type === 'flow-collection' && Array.isArray(t.end) && !t.end.some((e: { type?: unknown }) => e.type === 'flow-seq-end' || e.type === 'flow-map-end')) start = t.offset;
    }
    for (const value of Object.values(node)) visit(value);
  };
  for (const token of new Parser().parse(text)) visit(token);
  return start;
}

/** Whether a quoted scalar's source ends with its closing quote (not an escaped one). */
function closes(source: string, quote: string): boolean {
  if (source.length < 2 || !source.endsWith(quote)) return false;
  if (quote === "'") return true;
  let backslashes = 0;
  for (let i = source.length - 2; i >= 0 && source[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}
