import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { type Config, DEFAULTS, parseConfig, renderNewConfig } from '../../src/config/schema.js';

const FILE = 'config.yaml';
const HOME_DIR = '/home/ada';
const idA = 'a'.repeat(64);
const idB = 'b'.repeat(64);

function parse(text: string): Config {
  return parseConfig(text, FILE, { homeDir: HOME_DIR });
}

function parseError(text: string): ConfigError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config parsed');
}

describe('parseConfig', () => {
  it('fills every default when only name is given', () => {
    expect(parse('name: laptop\n')).toEqual({
      name: 'laptop',
      folders: [],
      peers: [],
      revoked: [],
      declinedFolders: [],
      ...DEFAULTS,
    });
  });

  it('treats an empty value as the default', () => {
    const c = parse('name: laptop\nlisten:\nlimits:\n  transfers:\nfolders:\n');
    expect(c.listen).toBe(DEFAULTS.listen);
    expect(c.limits.transfers).toBe(DEFAULTS.limits.transfers);
    expect(c.folders).toEqual([]);
  });

  it('reads every setting', () => {
    const c = parse(
      [
        'name: desk',
        'listen: "[::1]:9000"',
        'trust: allowlist',
        'folders:',
        '  - id: docs',
        '    path: /srv/docs',
        'peers:',
        `  - id: ${idA.toUpperCase()}`,
        '    name: laptop',
        '    address: laptop.lan:7842',
        `  - id: ${idB}`,
        'revoked: []',
        'limits: { transfers: 8, hashers: 3, bandwidth: { up: 1000, down: 2000 }, debounceMs: 0 }',
        'compression: zstd',
        'trash: { retentionDays: 7, maxBytes: 1073741824 }',
        'tombstoneDays: 30',
        'rescanIntervalS: 60',
        'deletionBudget: { percent: 25, perMinute: 100 }',
        'log: { level: debug }',
        'gui: { listen: "[::1]:0" }',
        'discovery: { lan: false }',
      ].join('\n'),
    );
    expect(c).toEqual({
      name: 'desk',
      listen: '[::1]:9000',
      trust: 'allowlist',
      // No folder has a share list: a config from before them, read as it behaved (every folder shared with every peer).
      folders: [{ id: 'docs', path: '/srv/docs', shareWith: [idA, idB], mode: 'send-receive' }],
      peers: [
        { id: idA, name: 'laptop', address: 'laptop.lan:7842' },
        { id: idB, name: '', address: '' },
      ],
      revoked: [],
      declinedFolders: [],
      limits: { transfers: 8, hashers: 3, bandwidthUp: 1000, bandwidthDown: 2000, debounceMs: 0 },
      compression: 'zstd',
      trash: { retentionDays: 7, maxBytes: 1073741824 },
      tombstoneDays: 30,
      rescanIntervalS: 60,
      deletionBudget: { percent: 25, perMinute: 100 },
      log: { level: 'debug' },
      gui: { listen: '[::1]:0' },
      discovery: { lan: false },
    });
  });

  it.each([
    { description: "a bare ~ (YAML null) is the home dir", path: '~', want: HOME_DIR },
    { description: "a quoted '~' is the home dir", path: "'~'", want: HOME_DIR },
    { description: "'~/x' is under the home dir", path: '~/Sync/notes', want: `${HOME_DIR}/Sync/notes` },
    { description: 'an absolute path is normalized', path: '/srv//docs/./a/', want: '/srv/docs/a' },
  ])('folder path: $description', ({ path, want }) => {
    expect(parse(`name: n\nfolders:\n  - id: f\n    path: ${path}\n`).folders[0]?.path).toBe(want);
  });

  it('returns defaults that are copies, not the frozen DEFAULTS', () => {
    const c = parse('name: n\n');
    c.limits.transfers = 9;
    expect(DEFAULTS.limits.transfers).toBe(4);
  });
});

/** One rejected config: the text, the line the error must name, and a fragment of what it must say. */
interface Rejection {
  description: string;
  text: string;
  line: number;
  says: string;
}

const folder = (id: string, path: string) => `  - id: ${id}\n    path: ${path}\n`;

const rejections: Rejection[] = [
  { description: 'YAML: tab as indentation', text: 'name: n\nlimits:\n\ttransfers: 4\n', line: 3, says: 'YAML syntax: Tabs' },
  { description: 'YAML: misaligned key', text: 'name: n\nfolders:\n  - id: a\n  path: /x\n', line: 4, says: 'YAML syntax' },
  { description: 'YAML: nested map on one line', text: 'name: n\nlisten: a: b\nlog: x\n', line: 2, says: 'YAML syntax' },
  // Issue 20, item 9: these were reported at the end of the file, where the parser gave up.
  { description: 'YAML: a quote never closed, on the line it opens', text: 'name: n\nfolders:\n  - id: a\n    path: "/x\nlimits:\n  transfers: 4\n', line: 4, says: 'YAML syntax: Missing closing "quote' },
  { description: 'YAML: a [ list never closed, on the line it opens', text: 'name: n\nlimits:\n  transfers: [4\n', line: 3, says: 'YAML syntax' },
  { description: "YAML: a ' quote never closed", text: "name: 'n\nlisten: x\n", line: 1, says: 'YAML syntax' },
  { description: 'YAML: a second document', text: 'name: n\n---\nname: m\n', line: 2, says: 'multiple documents' },
  { description: 'duplicate key', text: 'name: n\nlisten: a:1\nlisten: b:2\n', line: 3, says: 'unique' },
  { description: 'empty file', text: '# nothing here\n', line: 1, says: 'name is required' },
  { description: 'not a map', text: '- name\n', line: 1, says: 'must be a map' },
  { description: 'name missing', text: 'listen: a:1\n', line: 1, says: 'name is required' },
  { description: 'name empty', text: 'listen: a:1\nname:\n', line: 2, says: 'name is required' },
  { description: 'name too long', text: `name: ${'x'.repeat(65)}\n`, line: 1, says: '1 to 64 characters' },
  { description: 'name with a control char', text: 'listen: a:1\nname: "a\\tb"\n', line: 2, says: 'control characters' },
  { description: 'name is a number', text: 'name: 42\n', line: 1, says: 'must be text' },
  { description: 'unknown top-level key', text: 'name: n\n\ncolour: blue\n', line: 3, says: "unknown key 'colour'" },
  { description: 'typo at top level', text: 'name: n\ncompresion: lz4\n', line: 2, says: "unknown key 'compresion' (did you mean 'compression'?)" },
  { description: 'typo in limits', text: 'name: n\nlimits:\n  hashers: 2\n  transfer: 3\n', line: 4, says: "unknown key 'transfer' (did you mean 'transfers'?)" },
  { description: 'typo in bandwidth', text: 'name: n\nlimits:\n  bandwidth:\n    upp: 1\n', line: 4, says: "did you mean 'up'?" },
  { description: 'gui on a network address', text: 'name: n\ngui:\n  listen: 0.0.0.0:7843\n', line: 3, says: 'gui.listen must be a loopback address such as 127.0.0.1:7843 (got "0.0.0.0:7843"); from another machine, reach it through an SSH tunnel' },
  { description: 'unknown key in a folder', text: 'name: n\nfolders:\n  - id: f\n    path: /a\n    owner: ro\n', line: 5, says: "unknown key 'owner'" },
  { description: 'folder mode unknown', text: 'name: n\nfolders:\n  - id: f\n    path: /a\n    mode: ro\n', line: 5, says: "folder 'f' mode must be one of send-receive, send-only, receive-only" },
  { description: 'folder shareWith not a list', text: 'name: n\nfolders:\n  - id: f\n    path: /a\n    shareWith: laptop\n', line: 5, says: "folder 'f' shareWith must be a list" },
  { description: 'folder shareWith entry not an ID', text: 'name: n\nfolders:\n  - id: f\n    path: /a\n    shareWith: [laptop]\n', line: 5, says: "folder 'f' shareWith entry must be 64 hex digits" },
  { description: 'unknown key in trash', text: 'name: n\ntrash:\n  days: 3\n', line: 3, says: "unknown key 'days'" },
  { description: 'unknown key in log', text: 'name: n\nlog:\n  levle: info\n', line: 3, says: "did you mean 'level'?" },
  { description: 'listen without a port', text: 'name: n\nlisten: localhost\n', line: 2, says: 'listen must be host:port' },
  { description: 'listen port too big', text: 'name: n\nlisten: 0.0.0.0:65536\n', line: 2, says: 'port 0 to 65535' },
  { description: 'listen IPv6 without brackets', text: 'name: n\nlisten: "::1:7842"\n', line: 2, says: '[::1]:7842' },
  { description: 'listen bracketed non-IPv6', text: 'name: n\nlisten: "[nope]:7842"\n', line: 2, says: 'listen must be host:port' },
  { description: 'trust unknown', text: 'name: n\ntrust: everyone\n', line: 2, says: 'trust must be one of ca, allowlist' },
  { description: 'compression unknown', text: 'name: n\ncompression: lz5\n', line: 2, says: 'one of auto, none, lz4, zstd' },
  { description: 'log level unknown', text: 'name: n\nlog:\n  level: loud\n', line: 3, says: 'log.level must be one of' },
  { description: 'folders not a list', text: 'name: n\nfolders: docs\n', line: 2, says: 'folders must be a list' },
  { description: 'folder without id', text: 'name: n\nfolders:\n  - path: /a\n', line: 3, says: "folder needs 'id'" },
  { description: 'folder without path', text: 'name: n\nfolders:\n  - id: f\n', line: 3, says: "needs 'path'" },
  { description: 'folder id with a slash', text: `name: n\nfolders:\n${folder('a/b', '/a')}`, line: 3, says: "folder id 'a/b'" },
  { description: "folder id '..'", text: `name: n\nfolders:\n${folder("'..'", '/a')}`, line: 3, says: "not '.' or '..'" },
  { description: 'folder id too long', text: `name: n\nfolders:\n${folder('f'.repeat(65), '/a')}`, line: 3, says: 'folder id' },
  { description: 'folder id twice', text: `name: n\nfolders:\n${folder('f', '/a')}${folder('f', '/b')}`, line: 5, says: 'listed twice (also on line 3)' },
  { description: 'folder path empty', text: `name: n\nfolders:\n${folder('f', "''")}`, line: 4, says: 'non-empty' },
  { description: 'folder path relative', text: `name: n\nfolders:\n${folder('f', 'docs')}`, line: 4, says: 'must be absolute' },
  { description: 'folder path ~user', text: `name: n\nfolders:\n${folder('f', '~bob/x')}`, line: 4, says: 'must be absolute' },
  { description: 'two folders, same path', text: `name: n\nfolders:\n${folder('a', '/x')}${folder('b', '/x/')}`, line: 6, says: "same path as folder 'a' (line 3)" },
  { description: 'folder inside another', text: `name: n\nfolders:\n${folder('a', '/x')}${folder('b', '/x/y')}`, line: 6, says: "inside folder 'a'" },
  { description: 'folder containing another', text: `name: n\nfolders:\n${folder('a', '~/x/y')}${folder('b', '~')}`, line: 6, says: "contains folder 'a'" },
  { description: 'peer id not hex', text: `name: n\npeers:\n  - id: ${'g'.repeat(64)}\n`, line: 3, says: 'peer id must be 64 hex digits' },
  { description: 'peer id too short', text: 'name: n\npeers:\n  - id: abc\n', line: 3, says: '64 hex digits' },
  { description: 'peer id twice, in different case', text: `name: n\npeers:\n  - id: ${idA}\n  - id: ${idA.toUpperCase()}\n`, line: 4, says: 'listed twice (also on line 3)' },
  { description: 'peer also revoked', text: `name: n\nrevoked:\n  - ${idA}\npeers:\n  - id: ${idA}\n`, line: 5, says: "also in 'revoked'" },
  { description: 'peer name too long', text: `name: n\npeers:\n  - id: ${idA}\n    name: ${'p'.repeat(65)}\n`, line: 4, says: 'peer name must be 0 to 64' },
  { description: 'peer address without port', text: `name: n\npeers:\n  - id: ${idA}\n    address: host\n`, line: 4, says: 'peer address must be host:port' },
  { description: 'peer address port 0', text: `name: n\npeers:\n  - id: ${idA}\n    address: host:0\n`, line: 4, says: 'port 1 to 65535' },
  { description: 'revoked entry not an ID', text: 'name: n\nrevoked:\n  - bob\n', line: 3, says: 'revoked ID must be 64 hex digits' },
  { description: 'transfers 0', text: 'name: n\nlimits:\n  transfers: 0\n', line: 3, says: 'limits.transfers must be a whole number from 1 to 64' },
  { description: 'transfers 65', text: 'name: n\nlimits:\n  transfers: 65\n', line: 3, says: 'from 1 to 64 (got 65)' },
  { description: 'transfers fractional', text: 'name: n\nlimits:\n  transfers: 2.5\n', line: 3, says: 'limits.transfers' },
  { description: 'transfers as text', text: 'name: n\nlimits:\n  transfers: "4"\n', line: 3, says: 'limits.transfers' },
  { description: 'hashers 33', text: 'name: n\nlimits:\n  hashers: 33\n', line: 3, says: 'limits.hashers must be a whole number from 1 to 32' },
  { description: 'bandwidth up negative', text: 'name: n\nlimits:\n  bandwidth:\n    up: -1\n', line: 4, says: 'limits.bandwidth.up must be a whole number of at least 0' },
  { description: 'bandwidth down as text', text: 'name: n\nlimits:\n  bandwidth:\n    down: 10MB\n', line: 4, says: 'limits.bandwidth.down' },
  { description: 'debounceMs too big', text: 'name: n\nlimits:\n  debounceMs: 10001\n', line: 3, says: 'limits.debounceMs must be a whole number from 0 to 10000' },
  { description: 'limits not a map', text: 'name: n\nlimits: 4\n', line: 2, says: 'expected a map' },
  { description: 'maxBytes negative', text: 'name: n\ntrash:\n  maxBytes: -1\n', line: 3, says: 'trash.maxBytes must be a whole number of at least 0' },
  { description: 'maxBytes as text', text: 'name: n\ntrash:\n  maxBytes: 10GB\n', line: 3, says: 'trash.maxBytes' },
  { description: 'retentionDays 0', text: 'name: n\ntrash:\n  retentionDays: 0\n', line: 3, says: 'trash.retentionDays must be a whole number from 1 to 3650' },
  { description: 'tombstoneDays 3651', text: 'name: n\ntombstoneDays: 3651\n', line: 2, says: 'tombstoneDays must be a whole number from 1 to 3650' },
  { description: 'rescanIntervalS 9', text: 'name: n\nrescanIntervalS: 9\n', line: 2, says: 'rescanIntervalS must be a whole number from 10 to 86400' },
  { description: 'rescanIntervalS 86401', text: 'name: n\nrescanIntervalS: 86401\n', line: 2, says: 'from 10 to 86400' },
  { description: 'discovery.lan not a boolean', text: 'name: n\ndiscovery:\n  lan: "no"\n', line: 3, says: 'discovery.lan must be true or false' },
  { description: 'an unknown discovery key', text: 'name: n\ndiscovery:\n  mdns: true\n', line: 3, says: 'mdns' },
];

describe('parseConfig rejects', () => {
  it.each(rejections)('$description', ({ text, line, says }) => {
    const err = parseError(text);
    expect(err.message.startsWith(`${FILE}:${line}: `), err.message).toBe(true);
    expect(err.message).toContain(says);
    expect(err.message).not.toContain('\n');
    expect(err.line).toBe(line);
    expect(err.file).toBe(FILE);
  });
});

describe('parseConfig accepts edge values', () => {
  it.each([
    { description: 'listen on port 0 (pick any)', text: 'name: n\nlisten: 127.0.0.1:0\n' },
    { description: 'bracketed IPv6 listen', text: 'name: n\nlisten: "[::]:7842"\n' },
    { description: 'limits at their bounds', text: 'name: n\nlimits: { transfers: 64, hashers: 32, debounceMs: 10000 }\n' },
    { description: 'a 64-character name', text: `name: ${'x'.repeat(64)}\n` },
    { description: 'sibling folders with a shared prefix', text: `name: n\nfolders:\n${folder('a', '/x/doc')}${folder('b', '/x/docs')}` },
    { description: 'folder ids with dots and dashes', text: `name: n\nfolders:\n${folder('my.docs-2_x', '/a')}` },
    { description: 'an alias reused as a value', text: 'name: &n laptop\npeers:\n  - id: ' + idA + '\n    name: *n\n' },
  ])('$description', ({ text }) => {
    expect(() => parse(text)).not.toThrow();
  });
});

describe('renderNewConfig', () => {
  const init = {
    name: 'ada: laptop',
    listen: '[::]:7842',
    folders: [
      { id: 'docs', path: '/home/ada/Docs', shareWith: [], mode: 'send-receive' as const },
      { id: 'photos', path: '/home/ada/Photos #2', shareWith: [`${'c'.repeat(64)}`], mode: 'receive-only' as const },
    ],
  };

  it('parses back to the given values and the defaults', () => {
    expect(parse(renderNewConfig(init))).toEqual({ ...DEFAULTS, ...init, peers: [], revoked: [], declinedFolders: [] });
  });

  it('a config written before discovery existed has LAN discovery on; false turns it off', () => {
    expect(parse('name: n\n').discovery).toEqual({ lan: true });
    expect(parse('name: n\ndiscovery:\n').discovery).toEqual({ lan: true });
    expect(parse('name: n\ndiscovery:\n  lan: false\n').discovery).toEqual({ lan: false });
  });

  it('a config written before trash.maxBytes existed loads with no cap', () => {
    expect(parse('name: n\ntrash:\n  retentionDays: 9\n').trash).toEqual({ retentionDays: 9, maxBytes: 0 });
  });

  it('parses back with no folders', () => {
    expect(parse(renderNewConfig({ name: 'n', listen: DEFAULTS.listen, folders: [] })).folders).toEqual([]);
  });

  it('names every setting and explains it', () => {
    const text = renderNewConfig(init);
    for (const key of ['listen:', 'trust:', 'peers:', 'revoked:', 'transfers:', 'hashers:', 'up:', 'down:', 'debounceMs:', 'compression:', 'retentionDays:', 'maxBytes:', 'tombstoneDays:', 'rescanIntervalS:', 'level:', 'lan:']) {
      const lines = text.split('\n');
      const at = lines.findIndex((l) => l.trimStart().startsWith(key));
      expect(at, key).toBeGreaterThan(0);
      expect(lines[at - 1]?.trimStart().startsWith('#'), `comment above ${key}`).toBe(true);
    }
    expect(text).toContain("'ignore' file");
    expect(text).toContain('reloads');
  });
});
