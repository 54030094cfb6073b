/**
 * The config file's shape, defaults and validation. Pure: text in, values out.
 * The comment-preserving edits that commands make live in edit.ts; a folder
 * entry is read by folder-entry.ts, and YAML nodes by yaml-nodes.ts.
 */
import { type Node, isMap, stringify } from 'yaml';
import { type DiscoveryConfig, DISCOVERY_DEFAULTS, parseDiscovery } from './discovery-entry.js';
import { type FolderConfig, type FolderReadOptions, parseDeclined, parseFolders } from './folder-entry.js';
import { type Ctx, type Entry, fail, fields, hostPort, int, label, lineOf, list, load, nodeId, oneOf, required, str } from './yaml-nodes.js';

export type { FolderConfig, FolderMode } from './folder-entry.js';
export { type Ctx, fail, lineOf, load } from './yaml-nodes.js';

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
  /** Folder IDs whose offers from peers the user declined (`wizard folder decline`). */
  declinedFolders: string[];
  limits: Limits;
  compression: 'auto' | 'none' | 'lz4' | 'zstd';
  /** Per folder: entries older than retentionDays go; past maxBytes on disk (0: no cap), the oldest go first. */
  trash: { retentionDays: number; maxBytes: number };
  tombstoneDays: number;
  rescanIntervalS: number;
  /** Outgoing deletions pause for confirmation (`wizard resume`) past either bound. */
  deletionBudget: { percent: number; perMinute: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  /** The daemon's web server (metrics): a loopback host:port; port 0 takes a free one. */
  gui: { listen: string };
  /** LAN discovery (discovery-entry.ts). */
  discovery: DiscoveryConfig;
}

/** The settings that have a default; the rest come from the user or from commands. */
export type ConfigDefaults = Omit<Config, 'name' | 'folders' | 'peers' | 'revoked' | 'declinedFolders'>;

/** Defaults for every optional setting. Frozen: parseConfig copies them, never shares them. */
export const DEFAULTS: Readonly<ConfigDefaults> = Object.freeze({
  listen: '0.0.0.0:7842',
  trust: 'ca',
  limits: Object.freeze({ transfers: 4, hashers: 2, bandwidthUp: 0, bandwidthDown: 0, debounceMs: 30 }),
  compression: 'auto',
  trash: Object.freeze({ retentionDays: 30, maxBytes: 0 }),
  tombstoneDays: 365,
  rescanIntervalS: 600,
  deletionBudget: Object.freeze({ percent: 50, perMinute: 1000 }),
  log: Object.freeze({ level: 'info' }),
  gui: Object.freeze({ listen: '127.0.0.1:7843' }),
  discovery: DISCOVERY_DEFAULTS,
});

const TRUST = ['ca', 'allowlist'] as const;
const COMPRESSION = ['auto', 'none', 'lz4', 'zstd'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** What parsing needs besides the text: where '~' points, and the home whose keys no folder may hold. */
export type ParseOptions = FolderReadOptions;

/**
 * Parses and validates config text. Throws a ConfigError whose message is one
 * line, `FILE:LINE: what is wrong`, for the first problem found (syntax first).
 * A key with an empty value takes its default. `~` in folder paths expands to `opts.homeDir`.
 */
export function parseConfig(text: string, file: string, opts: ParseOptions): Config {
  const ctx = load(text, file);
  const root = ctx.doc.contents;
  if (root === null) fail(ctx, null, 'name is required: the config is empty');
  if (!isMap(root)) fail(ctx, root, 'the config must be a map of settings (name: ..., listen: ...)');
  const top = fields(ctx, root, ['name', 'listen', 'trust', 'folders', 'peers', 'revoked', 'declinedFolders', 'limits', 'compression', 'trash', 'tombstoneDays', 'rescanIntervalS', 'deletionBudget', 'log', 'gui', 'discovery']);
  const at = (key: string): Node | null => top.get(key)?.value ?? null;

  const nameNode = at('name');
  if (nameNode === null) fail(ctx, top.get('name')?.key ?? root, "name is required: this node's name as peers see it");
  const name = label(ctx, nameNode, 'name', 1);

  const listen = at('listen') === null ? DEFAULTS.listen : hostPort(ctx, at('listen'), 'listen', 0);
  const revoked = list(ctx, at('revoked'), 'revoked').map((n) => nodeId(ctx, n, 'revoked ID'));
  const peerList = peers(ctx, at('peers'), new Set(revoked));
  const limits = fields(ctx, at('limits'), ['transfers', 'hashers', 'bandwidth', 'debounceMs']);
  const bandwidth = fields(ctx, limits.get('bandwidth')?.value ?? null, ['up', 'down']);
  const trash = fields(ctx, at('trash'), ['retentionDays', 'maxBytes']);
  const num = (map: Map<string, Entry>, key: string, what: string, def: number, min: number, max?: number) =>
    int(ctx, map.get(key)?.value ?? null, what, def, min, max);

  return {
    name,
    listen,
    trust: oneOf(ctx, at('trust'), 'trust', TRUST, DEFAULTS.trust),
    folders: parseFolders(ctx, at('folders'), peerList.map((p) => p.id), opts),
    peers: peerList,
    revoked: [...new Set(revoked)],
    declinedFolders: parseDeclined(ctx, at('declinedFolders')),
    limits: {
      transfers: num(limits, 'transfers', 'limits.transfers', DEFAULTS.limits.transfers, 1, 64),
      hashers: num(limits, 'hashers', 'limits.hashers', DEFAULTS.limits.hashers, 1, 32),
      bandwidthUp: num(bandwidth, 'up', 'limits.bandwidth.up', DEFAULTS.limits.bandwidthUp, 0),
      bandwidthDown: num(bandwidth, 'down', 'limits.bandwidth.down', DEFAULTS.limits.bandwidthDown, 0),
      debounceMs: num(limits, 'debounceMs', 'limits.debounceMs', DEFAULTS.limits.debounceMs, 0, 10_000),
    },
    compression: oneOf(ctx, at('compression'), 'compression', COMPRESSION, DEFAULTS.compression),
    trash: {
      retentionDays: num(trash, 'retentionDays', 'trash.retentionDays', DEFAULTS.trash.retentionDays, 1, 3650),
      maxBytes: num(trash, 'maxBytes', 'trash.maxBytes', DEFAULTS.trash.maxBytes, 0),
    },
    tombstoneDays: num(top, 'tombstoneDays', 'tombstoneDays', DEFAULTS.tombstoneDays, 1, 3650),
    rescanIntervalS: num(top, 'rescanIntervalS', 'rescanIntervalS', DEFAULTS.rescanIntervalS, 10, 86_400),
    deletionBudget: deletionBudget(fields(ctx, at('deletionBudget'), ['percent', 'perMinute']), num),
    log: { level: oneOf(ctx, fields(ctx, at('log'), ['level']).get('level')?.value ?? null, 'log.level', LOG_LEVELS, DEFAULTS.log.level) },
    gui: { listen: guiListen(ctx, fields(ctx, at('gui'), ['listen']).get('listen')?.value ?? null) },
    discovery: parseDiscovery(ctx, at('discovery')),
  };
}

/** The web server answers this machine only: anyone else reaches it through an SSH tunnel, never the network. */
function guiListen(ctx: Ctx, node: Node | null): string {
  if (node === null) return DEFAULTS.gui.listen;
  const v = hostPort(ctx, node, 'gui.listen', 0);
  const host = v.slice(0, v.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))) {
    fail(ctx, node, `gui.listen must be a loopback address such as 127.0.0.1:7843 (got ${JSON.stringify(v)}); from another machine, reach it through an SSH tunnel`);
  }
  return v;
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
    : ['folders:', ...init.folders.flatMap((f) => [`  - id: ${yamlValue(f.id)}`, `    path: ${yamlValue(f.path)}`, `    shareWith: [${f.shareWith.map(yamlValue).join(', ')}]`, `    mode: ${f.mode}`])];
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
    "# shareWith lists the peers (node IDs) the folder is shared with, and no other peer sees it:",
    "# 'wizard folder share ID PEER' adds one. mode: send-receive, send-only (peers' changes are",
    '# not applied here) or receive-only (local changes are not sent: a backup). paused: true',
    "# ('wizard folder pause ID') stops a folder's syncing until 'wizard folder unpause ID'.",
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
    "  # Most bytes each folder's trash may take on disk; past it the oldest entries go first. 0: no cap.",
    `  maxBytes: ${d.trash.maxBytes}`,
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
    "# The daemon's web server on this machine: Prometheus metrics at /metrics, with the token in",
    "# the file gui-token beside this one as a bearer. A loopback host:port; when the port is taken,",
    '# a free one is used and logged.',
    'gui:',
    `  listen: ${yamlValue(d.gui.listen)}`,
    'discovery:',
    '  # Announce this node (ID, name, port; no secret) on the local network by UDP broadcast, port',
    '  # 7844, and find paired peers there when their address changed. false: no sending, no listening.',
    `  lan: ${d.discovery.lan}`,
    '',
  ].join('\n');
}
