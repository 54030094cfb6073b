/**
 * Reading a parsed config document node by node, with every problem reported
 * as one line, `FILE:LINE: what is wrong`. Pure: the parts of the config
 * (schema.ts, folder-entry.ts) and the edits (edit.ts) share these.
 */
import { unclosedStart } from './yaml-error-line.js';
import { isIPv6 } from 'node:net';
import { type Document, LineCounter, type Node, isAlias, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';

/** Node IDs: the lowercase hex SHA-256 of a node's certificate. */
export const NODE_ID = /^[0-9a-f]{64}$/;
/** Characters of a name shown to humans (a node's, a peer's). */
const MAX_NAME_CHARS = 64;
/** A parsed config document and where its text came from; shared with edit.ts. */
export interface Ctx {
  file: string;
  lines: LineCounter;
  doc: Document.Parsed;
}

/** A map's value by key; `value` is null when the key is present but empty (meaning: use the default). */
export interface Entry {
  key: Node;
  value: Node | null;
  /** The value as written, when it is a plain scalar. */
  source?: string;
}

/**

/** Parses config text; throws a ConfigError at the first YAML syntax error. */
export function load(text: string, file: string): Ctx {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const ctx = { file, lines, doc };
  const syntax = doc.errors[0];
  if (syntax) {
    // An unclosed quote or bracket is reported where the parser gave up; the line it opened on is the one to fix.
    const line = lines.linePos(unclosedStart(text, syntax.pos[0]) ?? syntax.pos[0]).line || 1;
    const what = syntax.message.split('\n')[0] ?? syntax.message;
    throw new ConfigError(`${file}:${line}: YAML syntax: ${what}`, file, line);
  }
  return ctx;
}

/** The 1-based line a node starts on; 1 when it has no position. */
export function lineOf(ctx: Ctx, node: Node | null): number {
  const start = node?.range?.[0];
  return start === undefined ? 1 : ctx.lines.linePos(start).line || 1;
}

/** Throws a ConfigError, `FILE:LINE: what`, at the node's line. */
export function fail(ctx: Ctx, node: Node | null, what: string): never {
  const line = lineOf(ctx, node);
  throw new ConfigError(`${ctx.file}:${line}: ${what}`, ctx.file, line);
}

/** Follows an alias and turns an empty value (`key:` or `null`) into null. */
export function deref(ctx: Ctx, value: unknown): Node | null {
  const node = isAlias(value) ? (value.resolve(ctx.doc) ?? null) : isNode(value) ? value : null;
  return isScalar(node) && node.value === null ? null : node;
}

/** The entries of a map whose keys must all be `known`; a null node is an empty map. */
export function fields(ctx: Ctx, node: Node | null, known: readonly string[]): Map<string, Entry> {
  const out = new Map<string, Entry>();
  if (node === null) return out;
  if (!isMap(node)) fail(ctx, node, `expected a map with keys ${known.join(', ')}`);
  for (const pair of node.items) {
    const key = deref(ctx, pair.key);
    if (!isScalar(key) || typeof key.value !== 'string') fail(ctx, key ?? node, 'keys must be plain names');
    if (!known.includes(key.value)) fail(ctx, key, unknownKey(key.value, known));
    out.set(key.value, { key, value: deref(ctx, pair.value), source: isScalar(pair.value) ? pair.value.source : undefined });
  }
  return out;
}

function unknownKey(key: string, known: readonly string[]): string {
  const near = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .filter((c) => c.d <= 2)
    .sort((a, b) => a.d - b.d)[0];
  return near ? `unknown key '${key}' (did you mean '${near.k}'?)` : `unknown key '${key}' (known here: ${known.join(', ')})`;
}

/** Levenshtein distance; keys are short, so the plain O(n·m) table is fine. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

export function required(ctx: Ctx, f: Map<string, Entry>, key: string, item: Node, what: string): Node {
  const value = f.get(key)?.value ?? null;
  if (value === null) fail(ctx, f.get(key)?.key ?? item, `${what} needs '${key}'`);
  return value;
}

export function list(ctx: Ctx, node: Node | null, what: string): Node[] {
  if (node === null) return [];
  if (!isSeq(node)) fail(ctx, node, `${what} must be a list`);
  return node.items.map((item) => {
    const n = deref(ctx, item);
    if (n === null) fail(ctx, node, `${what} has an empty entry`);
    return n;
  });
}

function got(node: Node): string {
  return isScalar(node) ? ` (got ${JSON.stringify(node.value)})` : '';
}

export function str(ctx: Ctx, node: Node, what: string): string {
  if (!isScalar(node) || typeof node.value !== 'string') fail(ctx, node, `${what} must be text${got(node)}; quote it if it looks like a number`);
  return node.value;
}

export function int(ctx: Ctx, node: Node | null, what: string, def: number, min: number, max?: number): number {
  if (node === null) return def;
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || (max !== undefined && v > max)) {
    const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    fail(ctx, node, `${what} must be a whole number ${range}${got(node)}`);
  }
  return v;
}

export function bool(ctx: Ctx, node: Node | null, what: string, def: boolean): boolean {
  if (node === null) return def;
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v !== 'boolean') fail(ctx, node, `${what} must be true or false${got(node)}`);
  return v;
}

export function oneOf<T extends string>(ctx: Ctx, node: Node | null, what: string, options: readonly T[], def: T): T {
  if (node === null) return def;
  const v = isScalar(node) ? node.value : undefined;
  if (!options.some((o) => o === v)) fail(ctx, node, `${what} must be one of ${options.join(', ')}${got(node)}`);
  return v as T;
}

/** A name shown to humans: bounded, and no control characters that could forge terminal output. */
export function label(ctx: Ctx, node: Node, what: string, minChars: number): string {
  const v = str(ctx, node, what);
  const chars = [...v].length;
  if (chars < minChars || chars > MAX_NAME_CHARS) fail(ctx, node, `${what} must be ${minChars} to ${MAX_NAME_CHARS} characters (got ${chars})`);
  if (/\p{Cc}/u.test(v)) fail(ctx, node, `${what} may not contain control characters`);
  return v;
}

export function nodeId(ctx: Ctx, node: Node, what: string): string {
  const v = str(ctx, node, what).toLowerCase();
  if (!NODE_ID.test(v)) fail(ctx, node, `${what} must be 64 hex digits (a node's certificate fingerprint)${got(node)}`);
  return v;
}

export function hostPort(ctx: Ctx, node: Node | null, what: string, minPort: number): string {
  const v = node === null ? '' : str(ctx, node, what);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([A-Za-z0-9._-]+):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || (v.startsWith('[') && !isIPv6(m[1] ?? '')) || port < minPort || port > 65_535) {
    fail(ctx, node, `${what} must be host:port with port ${minPort} to 65535, IPv6 in brackets as [::1]:7842 (got ${JSON.stringify(v)})`);
  }
  return v;
}
