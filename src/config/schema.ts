/**
 * The config file's shape, defaults and validation. Pure: text in, values out.
 * The comment-preserving edits that commands make live in edit.ts.
 */
import { isIPv6 } from 'node:net';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  type Document,
  LineCounter,
  type Node,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  stringify,
} from 'yaml';
import { ConfigError } from '../core/errors.js';

/** A synced folder: `id` is shared by every node that syncs it, `path` is absolute on this node. */
export interface FolderConfig {
  id: string;
  path: string;
}

/** A known node: `address` is 'host:port', or '' when only they dial us. */
export interface PeerConfig {
  id: string;
  name: string;
  address: string;
}

/** How hard the node works; `bandwidthUp/Down` are bytes per second, 0 = unlimited. */
export interface Limits {
  transfers: number;
  hashers: number;
  bandwidthUp: number;
  bandwidthDown: number;
  debounceMs: number;
}

/** A validated config, with every default filled in. */
export interface Config {
  name: string;
  listen: string;
  trust: 'ca' | 'allowlist';
  folders: FolderConfig[];
  peers: PeerConfig[];
  revoked: string[];
  limits: Limits;
  compression: 'auto' | 'none' | 'lz4' | 'zstd';
  trash: { retentionDays: number };
  tombstoneDays: number;
  rescanIntervalS: number;
  /** Outgoing deletions pause for confirmation (`wizard resume`) past either bound. */
  deletionBudget: { percent: number; perMinute: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
}

/** The settings that have a default; the rest come from the user or from commands. */
export type ConfigDefaults = Omit<Config, 'name' | 'folders' | 'peers' | 'revoked'>;

/** Defaults for every optional setting. Frozen: parseConfig copies them, never shares them. */
export const DEFAULTS: Readonly<ConfigDefaults> = Object.freeze({
  listen: '0.0.0.0:7842',
  trust: 'ca',
  limits: Object.freeze({ transfers: 4, hashers: 2, bandwidthUp: 0, bandwidthDown: 0, debounceMs: 50 }),
  compression: 'auto',
  trash: Object.freeze({ retentionDays: 30 }),
  tombstoneDays: 365,
  rescanIntervalS: 600,
  deletionBudget: Object.freeze({ percent: 50, perMinute: 1000 }),
  log: Object.freeze({ level: 'info' }),
});

const TRUST = ['ca', 'allowlist'] as const;
const COMPRESSION = ['auto', 'none', 'lz4', 'zstd'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const FOLDER_ID = /^[A-Za-z0-9._-]{1,64}$/;
const NODE_ID = /^[0-9a-f]{64}$/;
const MAX_NAME_CHARS = 64;

/** A parsed config document and where its text came from; shared with edit.ts. */
export interface Ctx {
  file: string;
  lines: LineCounter;
  doc: Document.Parsed;
}

/** A map's value by key; `value` is null when the key is present but empty (meaning: use the default). */
interface Entry {
  key: Node;
  value: Node | null;
  /** The value as written, when it is a plain scalar. */
  source?: string;
}

/**
 * Parses and validates config text. Throws a ConfigError whose message is one
 * line, `FILE:LINE: what is wrong`, for the first problem found (syntax first).
 * A key with an empty value takes its default. `~` in folder paths expands to `opts.homeDir`.
 */
export function parseConfig(text: string, file: string, opts: { homeDir: string }): Config {
  const ctx = load(text, file);
  const root = ctx.doc.contents;
  if (root === null) fail(ctx, null, 'name is required: the config is empty');
  if (!isMap(root)) fail(ctx, root, 'the config must be a map of settings (name: ..., listen: ...)');
  const top = fields(ctx, root, ['name', 'listen', 'trust', 'folders', 'peers', 'revoked', 'limits', 'compression', 'trash', 'tombstoneDays', 'rescanIntervalS', 'deletionBudget', 'log']);
  const at = (key: string): Node | null => top.get(key)?.value ?? null;

  const nameNode = at('name');
  if (nameNode === null) fail(ctx, top.get('name')?.key ?? root, "name is required: this node's name as peers see it");
  const name = label(ctx, nameNode, 'name', 1);

  const listen = at('listen') === null ? DEFAULTS.listen : hostPort(ctx, at('listen'), 'listen', 0);
  const revoked = list(ctx, at('revoked'), 'revoked').map((n) => nodeId(ctx, n, 'revoked ID'));
  const limits = fields(ctx, at('limits'), ['transfers', 'hashers', 'bandwidth', 'debounceMs']);
  const bandwidth = fields(ctx, limits.get('bandwidth')?.value ?? null, ['up', 'down']);
  const num = (map: Map<string, Entry>, key: string, what: string, def: number, min: number, max?: number) =>
    int(ctx, map.get(key)?.value ?? null, what, def, min, max);

  return {
    name,
    listen,
    trust: oneOf(ctx, at('trust'), 'trust', TRUST, DEFAULTS.trust),
    folders: folders(ctx, at('folders'), opts.homeDir),
    peers: peers(ctx, at('peers'), new Set(revoked)),
    revoked: [...new Set(revoked)],
    limits: {
      transfers: num(limits, 'transfers', 'limits.transfers', DEFAULTS.limits.transfers, 1, 64),
      hashers: num(limits, 'hashers', 'limits.hashers', DEFAULTS.limits.hashers, 1, 32),
      bandwidthUp: num(bandwidth, 'up', 'limits.bandwidth.up', DEFAULTS.limits.bandwidthUp, 0),
      bandwidthDown: num(bandwidth, 'down', 'limits.bandwidth.down', DEFAULTS.limits.bandwidthDown, 0),
      debounceMs: num(limits, 'debounceMs', 'limits.debounceMs', DEFAULTS.limits.debounceMs, 0, 10_000),
    },
    compression: oneOf(ctx, at('compression'), 'compression', COMPRESSION, DEFAULTS.compression),
    trash: { retentionDays: num(fields(ctx, at('trash'), ['retentionDays']), 'retentionDays', 'trash.retentionDays', DEFAULTS.trash.retentionDays, 1, 3650) },
    tombstoneDays: num(top, 'tombstoneDays', 'tombstoneDays', DEFAULTS.tombstoneDays, 1, 3650),
    rescanIntervalS: num(top, 'rescanIntervalS', 'rescanIntervalS', DEFAULTS.rescanIntervalS, 10, 86_400),
    deletionBudget: deletionBudget(fields(ctx, at('deletionBudget'), ['percent', 'perMinute']), num),
    log: { level: oneOf(ctx, fields(ctx, at('log'), ['level']).get('level')?.value ?? null, 'log.level', LOG_LEVELS, DEFAULTS.log.level) },
  };
}

function deletionBudget(
  map: Map<string, Entry>,
  num: (map: Map<string, Entry>, key: string, what: string, def: number, min: number, max?: number) => number,
): Config['deletionBudget'] {
  return {
    percent: num(map, 'percent', 'deletionBudget.percent', DEFAULTS.deletionBudget.percent, 1, 100),
    perMinute: num(map, 'perMinute', 'deletionBudget.perMinute', DEFAULTS.deletionBudget.perMinute, 1),
  };
}

function folders(ctx: Ctx, node: Node | null, homeDir: string): FolderConfig[] {
  const out: (FolderConfig & { line: number })[] = [];
  for (const item of list(ctx, node, 'folders')) {
    const f = fields(ctx, item, ['id', 'path']);
    const idNode = required(ctx, f, 'id', item, 'folder');
    const id = str(ctx, idNode, 'folder id');
    if (!FOLDER_ID.test(id) || id === '.' || id === '..') {
      fail(ctx, idNode, `folder id '${id}' must be 1 to 64 letters, digits, '.', '_' or '-', and not '.' or '..'`);
    }
    const twin = out.find((o) => o.id === id);
    if (twin) fail(ctx, idNode, `folder id '${id}' is listed twice (also on line ${twin.line})`);
    // A bare `~` is YAML for null, but as a folder path the user surely means home.
    const bareTilde = f.get('path')?.source === '~';
    const pathNode = bareTilde ? f.get('path')?.key ?? item : required(ctx, f, 'path', item, `folder '${id}'`);
    const raw = bareTilde ? '~' : str(ctx, pathNode, `folder '${id}' path`);
    if (raw === '' || raw.includes('\0')) fail(ctx, pathNode, `folder '${id}' path must be a non-empty path`);
    const expanded = raw === '~' ? homeDir : raw.startsWith('~/') ? join(homeDir, raw.slice(2)) : raw;
    if (!isAbsolute(expanded)) fail(ctx, pathNode, `folder '${id}' path '${raw}' must be absolute or start with '~/'`);
    const path = resolve(expanded);
    for (const o of out) {
      // Nested folders would sync the inner files twice, under two IDs, with two indexes fighting.
      if (o.path === path) fail(ctx, pathNode, `folder '${id}' has the same path as folder '${o.id}' (line ${o.line})`);
      if (isInside(o.path, path)) fail(ctx, pathNode, `folder '${id}' path ${path} is inside folder '${o.id}' (line ${o.line})`);
      if (isInside(path, o.path)) fail(ctx, pathNode, `folder '${id}' path ${path} contains folder '${o.id}' (line ${o.line})`);
    }
    out.push({ id, path, line: lineOf(ctx, idNode) });
  }
  return out.map(({ id, path }) => ({ id, path }));
}

function peers(ctx: Ctx, node: Node | null, revoked: Set<string>): PeerConfig[] {
  const out: (PeerConfig & { line: number })[] = [];
  for (const item of list(ctx, node, 'peers')) {
    const f = fields(ctx, item, ['id', 'name', 'address']);
    const idNode = required(ctx, f, 'id', item, 'peer');
    const id = nodeId(ctx, idNode, 'peer id');
    const twin = out.find((o) => o.id === id);
    if (twin) fail(ctx, idNode, `peer ${id} is listed twice (also on line ${twin.line})`);
    if (revoked.has(id)) fail(ctx, idNode, `peer ${id} is also in 'revoked'; remove it from one of the two lists`);
    const nameNode = f.get('name')?.value ?? null;
    const addressNode = f.get('address')?.value ?? null;
    out.push({
      id,
      name: nameNode === null ? '' : label(ctx, nameNode, 'peer name', 0),
      address: addressNode === null || str(ctx, addressNode, 'peer address') === '' ? '' : hostPort(ctx, addressNode, 'peer address', 1),
      line: lineOf(ctx, idNode),
    });
  }
  return out.map(({ id, name, address }) => ({ id, name, address }));
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Parses config text; throws a ConfigError at the first YAML syntax error. */
export function load(text: string, file: string): Ctx {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const ctx = { file, lines, doc };
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lines.linePos(syntax.pos[0]).line || 1;
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
function deref(ctx: Ctx, value: unknown): Node | null {
  const node = isAlias(value) ? (value.resolve(ctx.doc) ?? null) : isNode(value) ? value : null;
  return isScalar(node) && node.value === null ? null : node;
}

/** The entries of a map whose keys must all be `known`; a null node is an empty map. */
function fields(ctx: Ctx, node: Node | null, known: readonly string[]): Map<string, Entry> {
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

function required(ctx: Ctx, f: Map<string, Entry>, key: string, item: Node, what: string): Node {
  const value = f.get(key)?.value ?? null;
  if (value === null) fail(ctx, f.get(key)?.key ?? item, `${what} needs '${key}'`);
  return value;
}

function list(ctx: Ctx, node: Node | null, what: string): Node[] {
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

function str(ctx: Ctx, node: Node, what: string): string {
  if (!isScalar(node) || typeof node.value !== 'string') fail(ctx, node, `${what} must be text${got(node)}; quote it if it looks like a number`);
  return node.value;
}

function int(ctx: Ctx, node: Node | null, what: string, def: number, min: number, max?: number): number {
  if (node === null) return def;
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || (max !== undefined && v > max)) {
    const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    fail(ctx, node, `${what} must be a whole number ${range}${got(node)}`);
  }
  return v;
}

function oneOf<T extends string>(ctx: Ctx, node: Node | null, what: string, options: readonly T[], def: T): T {
  if (node === null) return def;
  const v = isScalar(node) ? node.value : undefined;
  if (!options.some((o) => o === v)) fail(ctx, node, `${what} must be one of ${options.join(', ')}${got(node)}`);
  return v as T;
}

/** A name shown to humans: bounded, and no control characters that could forge terminal output. */
function label(ctx: Ctx, node: Node, what: string, minChars: number): string {
  const v = str(ctx, node, what);
  const chars = [...v].length;
  if (chars < minChars || chars > MAX_NAME_CHARS) fail(ctx, node, `${what} must be ${minChars} to ${MAX_NAME_CHARS} characters (got ${chars})`);
  if (/\p{Cc}/u.test(v)) fail(ctx, node, `${what} may not contain control characters`);
  return v;
}

function nodeId(ctx: Ctx, node: Node, what: string): string {
  const v = str(ctx, node, what).toLowerCase();
  if (!NODE_ID.test(v)) fail(ctx, node, `${what} must be 64 hex digits (a node's certificate fingerprint)${got(node)}`);
  return v;
}

function hostPort(ctx: Ctx, node: Node | null, what: string, minPort: number): string {
  const v = node === null ? '' : str(ctx, node, what);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([A-Za-z0-9._-]+):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || (v.startsWith('[') && !isIPv6(m[1] ?? '')) || port < minPort || port > 65_535) {
    fail(ctx, node, `${what} must be host:port with port ${minPort} to 65535, IPv6 in brackets as [::1]:7842 (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** Renders a scalar for the template; never a block scalar, so it stays on its line. */
function yamlValue(value: string): string {
  return stringify(value, { blockQuote: false, lineWidth: 0 }).trimEnd();
}

/**
 * A fresh config.yaml with every setting at its default and a comment each,
 * so a user learns the settings by reading the file. Parses back to the same values.
 */
export function renderNewConfig(init: { name: string; listen: string; folders: FolderConfig[] }): string {
  const d = DEFAULTS;
  const folderLines = init.folders.length === 0
    ? ['folders: []']
    : ['folders:', ...init.folders.flatMap((f) => [`  - id: ${yamlValue(f.id)}`, `    path: ${yamlValue(f.path)}`])];
  return [
    '# Wizard node settings. Wizard reloads this file when it changes; a bad edit',
    '# is reported with its line and the last good settings stay in force.',
    "# Paths never to sync are listed in the 'ignore' file next to this one.",
    '',
    "# This node's name, as peers see it (1 to 64 characters).",
    `name: ${yamlValue(init.name)}`,
    '# Address and port to accept peers on (host:port; IPv6 as [::]:7842).',
    `listen: ${yamlValue(init.listen)}`,
    '# Who may connect: ca = any node signed by our CA, allowlist = only the peers below.',
    `trust: ${d.trust}`,
    '',
    "# Folders to sync. The id is the same on every node that shares the folder; '~' is your home.",
    ...folderLines,
    '',
    "# Known nodes, added by 'wizard pair'. address is host:port, or '' when only they dial us.",
    'peers: []',
    '# Node IDs refused even when signed by the CA.',
    'revoked: []',
    '',
    '# How hard Wizard may work.',
    'limits:',
    '  # Download slots (1 to 64): one file each, or up to 16 files of at most 64 KiB sharing one.',
    `  transfers: ${d.limits.transfers}`,
    '  # Files hashed or delta-encoded at the same time (1 to 32).',
    `  hashers: ${d.limits.hashers}`,
    '  bandwidth:',
    '    # Upload limit in bytes per second; 0 means unlimited.',
    `    up: ${d.limits.bandwidthUp}`,
    '    # Download limit in bytes per second; 0 means unlimited.',
    `    down: ${d.limits.bandwidthDown}`,
    '  # Milliseconds a burst of file changes may settle before it is synced (0 to 10000).',
    `  debounceMs: ${d.limits.debounceMs}`,
    '# auto picks per connection from measured CPU and network speed; none, lz4 or zstd force one.',
    `compression: ${d.compression}`,
    'trash:',
    '  # Days that replaced and deleted files stay in the trash (1 to 3650).',
    `  retentionDays: ${d.trash.retentionDays}`,
    '# Days a deletion is remembered, so a node that was away learns of it (1 to 3650).',
    `tombstoneDays: ${d.tombstoneDays}`,
    '# Seconds between full rescans, the safety net for changes the watcher missed (10 to 86400).',
    `rescanIntervalS: ${d.rescanIntervalS}`,
    '# Deletions that pause until you confirm them with `wizard resume <folder>`: more than',
    '# this percent of a folder (an emptied or unmounted disk looks like that), or more per minute.',
    'deletionBudget:',
    `  percent: ${d.deletionBudget.percent}`,
    `  perMinute: ${d.deletionBudget.perMinute}`,
    'log:',
    '  # fatal, error, warn, info, debug or trace.',
    `  level: ${d.log.level}`,
    '',
  ].join('\n');
}
