import { describe, it, expect } from 'vitest';
import { BadPathError, ProtocolError } from '../../src/core/errors.js';
import type { FileEntry } from '../../src/index/entry.js';
import {
  LIMITS,
  type CloseMessage,
  type ErrorMessage,
  type Hello,
  type HelloFolder,
  type IndexMessage,
  type Message,
  type RequestMessage,
  type ResponseMessage,
  type SumsMessage,
  type SumsRequestMessage,
} from '../../src/protocol/messages.js';
import { validateMessage } from '../../src/protocol/validate.js';

const nodeA = 'a1'.repeat(32);
const nodeB = 'b2'.repeat(32);
const shortA = nodeA.slice(0, 16);
const shortB = nodeB.slice(0, 16);
const hashX = '0f'.repeat(32);

const folderDocs: HelloFolder = {
  id: 'docs',
  indexId: '0123456789abcdef',
  maxSequence: 42,
  digest: 'fe'.repeat(16),
  have: { indexId: 'fedcba9876543210', sequence: 17 },
};

const folderFresh: HelloFolder = {
  id: 'photos_2024.raw-1',
  indexId: 'aaaaaaaaaaaaaaaa',
  maxSequence: 0,
  digest: '0'.repeat(32),
  have: { indexId: '', sequence: 0 },
};

const hello: Hello = {
  type: 'hello',
  protocol: 1,
  id: nodeA,
  name: 'laptop \u{1F4BB}',
  listenPort: 7842,
  intent: 'sync',
  folders: [folderDocs, folderFresh],
};

const fileA: FileEntry = {
  path: 'notes/a.txt',
  type: 'file',
  size: 12,
  mtimeMs: 1_700_000_000_123.5,
  mode: 0o644,
  hash: hashX,
  target: '',
  version: { [shortA]: 3, [shortB]: 1 },
  deleted: false,
  sequence: 7,
};

const dirN: FileEntry = {
  path: 'notes',
  type: 'dir',
  size: 0,
  mtimeMs: 1_700_000_000_000,
  mode: 0o755,
  hash: '',
  target: '',
  version: { [shortA]: 1 },
  deleted: false,
  sequence: 1,
};

const linkL: FileEntry = {
  path: 'notes/link',
  type: 'symlink',
  size: 0,
  mtimeMs: 1_700_000_000_000,
  mode: 0o777,
  hash: '',
  target: 'a.txt',
  version: { [shortB]: 2 },
  deleted: false,
  sequence: 8,
};

const goneG: FileEntry = {
  path: 'old.bin',
  type: 'file',
  size: 0,
  mtimeMs: 0,
  mode: 0,
  hash: '',
  target: '',
  version: { [shortA]: 9 },
  deleted: true,
  sequence: 2 ** 40,
};

const index: IndexMessage = {
  type: 'index',
  folder: 'docs',
  indexId: '0123456789abcdef',
  reset: true,
  entries: [dirN, fileA, linkL, goneG],
};

const request: RequestMessage = {
  type: 'request',
  id: 5,
  folder: 'docs',
  path: 'notes/a.txt',
  hash: hashX,
  offset: 1024 * 1024,
  length: 64 * 1024,
};

const response: ResponseMessage = { type: 'response', id: 5, data: Buffer.from('hello world!') };
const sumsRequest: SumsRequestMessage = { type: 'sums-request', id: 6, folder: 'docs', path: 'big.bin', hash: hashX, blockSize: 4096, first: 0, count: 10, group: 1 };
const sums: SumsMessage = { type: 'sums', id: 6, fileSize: 40_000, blockSize: 4096, first: 0, group: 1, weak: Buffer.alloc(40), strong: Buffer.alloc(10 * LIMITS.strongBytes) };

const errorMsg: ErrorMessage = { type: 'error', id: 6, code: 'changed', message: 'file changed since indexed' };

const close: CloseMessage = { type: 'close', reason: 'protocol version' };

/** One valid message of every type, with a description. */
const everyMessage: { description: string; msg: Message }[] = [
  { description: 'hello', msg: hello },
  { description: 'hello to pair, no folders', msg: { ...hello, intent: 'pair', listenPort: 0, folders: [] } },
  { description: 'index with every entry kind', msg: index },
  { description: 'empty index batch', msg: { ...index, reset: true, entries: [] } },
  { description: 'request', msg: request },
  { description: 'response', msg: response },
  { description: 'empty response (end of file)', msg: { type: 'response', id: 0, data: Buffer.alloc(0) } },
  { description: 'sums-request', msg: sumsRequest },
  { description: 'sums', msg: sums },
  { description: 'sums as group digests', msg: { ...sums, group: 64, weak: Buffer.alloc(0), strong: Buffer.alloc(2 * LIMITS.strongBytes) } },
  { description: 'sums with no blocks', msg: { ...sums, weak: Buffer.alloc(0), strong: Buffer.alloc(0) } },
  { description: 'error', msg: errorMsg },
  { description: 'ping', msg: { type: 'ping' } },
  { description: 'pong', msg: { type: 'pong' } },
  { description: 'close', msg: close },
];

const REMOVE = Symbol('remove');

/** Paths from THREATS.md P1-P3 that no peer may send. */
const hostilePaths = [
  ...['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a/', 'a/.', '.', '..', ''],
  ...['a\\b', 'a\0b', 'a\nb', '.wizard/x', '.wizard', '.WIZARD/config'],
];

/** `count` items made by `make(i)`. */
function manyOf<T>(count: number, make: (i: number) => T): T[] {
  return Array.from({ length: count }, (_, i) => make(i));
}

/** `obj` with `key` set to `value` (or removed when `value` is `REMOVE`). */
function withField(obj: object, key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  if (value === REMOVE) delete out[key];
  else out[key] = value;
  return out;
}

/**
 * Deep equality, but binary data compared with Buffer.equals: vitest's
 * element-by-element comparison takes seconds on a 1 MiB block.
 */
function expectSameMessage(actual: Message, expected: Message): void {
  if (actual.type === 'response' && expected.type === 'response') {
    expect(Buffer.isBuffer(actual.data)).toBe(true);
    expect(Buffer.from(actual.data).equals(Buffer.from(expected.data))).toBe(true);
    expect({ ...actual, data: null }).toEqual({ ...expected, data: null });
  } else {
    expect(actual).toEqual(expected);
  }
}

/** The index fixture holding only `entry`. */
const indexWith = (entry: Record<string, unknown>): Record<string, unknown> => withField(index, 'entries', [entry]);
/** The hello fixture announcing only `folder`. */
const helloWith = (folder: Record<string, unknown>): Record<string, unknown> => withField(hello, 'folders', [folder]);

describe('validateMessage accepts', () => {
  for (const c of everyMessage) {
    it(c.description, () => {
      expectSameMessage(validateMessage(c.msg), c.msg);
    });
  }

  const extra: { description: string; value: unknown; want: Message }[] = [
    {
      description: 'an NFD path, returned NFC',
      value: indexWith({ ...fileA, path: 'cafe\u0301' }),
      want: { ...index, entries: [{ ...fileA, path: 'caf\u00e9' }] },
    },
    {
      description: 'a Uint8Array as response data',
      value: { ...response, data: new Uint8Array([1, 2]) },
      want: { ...response, data: Buffer.from([1, 2]) },
    },
    {
      description: 'response data of exactly maxBlockBytes',
      value: { ...response, data: Buffer.alloc(LIMITS.maxBlockBytes) },
      want: { ...response, data: Buffer.alloc(LIMITS.maxBlockBytes) },
    },
    {
      description: 'a request of exactly maxBlockBytes',
      value: { ...request, length: LIMITS.maxBlockBytes },
      want: { ...request, length: LIMITS.maxBlockBytes },
    },
    {
      description: 'a name of 64 emoji',
      value: { ...hello, name: '\u{1F600}'.repeat(64) },
      want: { ...hello, name: '\u{1F600}'.repeat(64) },
    },
    {
      description: 'mode 7777 (octal)',
      value: indexWith({ ...fileA, mode: 0o7777 }),
      want: { ...index, entries: [{ ...fileA, mode: 0o7777 }] },
    },
    {
      description: 'a negative mtime (before 1970)',
      value: indexWith({ ...fileA, mtimeMs: -1.5 }),
      want: { ...index, entries: [{ ...fileA, mtimeMs: -1.5 }] },
    },
    { description: 'listenPort 65535', value: { ...hello, listenPort: 65535 }, want: { ...hello, listenPort: 65535 } },
    {
      description: 'a future protocol version (refused later, by the session)',
      value: { ...hello, protocol: 2 },
      want: { ...hello, protocol: 2 },
    },
  ];
  for (const c of extra) {
    it(c.description, () => {
      expectSameMessage(validateMessage(c.value), c.want);
    });
  }

  it('returns a fresh object without unknown keys', () => {
    const input = { ...request, extra: 'x', nested: { a: 1 } };
    const out = validateMessage(input);
    expect(out).not.toBe(input);
    expect(out).toEqual(request);
    expect(Object.keys(out)).not.toContain('extra');
  });

  it('drops unknown keys in entries, folders and have', () => {
    const input = withField(hello, 'folders', [{ ...folderDocs, junk: 1, have: { ...folderDocs.have, more: 2 } }]);
    expect(validateMessage(input)).toEqual({ ...hello, folders: [folderDocs] });
    const idx = validateMessage(indexWith({ ...fileA, inode: 5 }));
    expect(idx).toEqual({ ...index, entries: [fileA] });
  });

  it('returns response data as a view of the input, not a copy', () => {
    const backing = Buffer.from([9, 8, 7, 6]);
    const out = validateMessage({ ...response, data: backing.subarray(1, 3) });
    if (out.type !== 'response') throw new Error('expected a response');
    expect(Buffer.isBuffer(out.data)).toBe(true);
    backing[1] = 0;
    expect([...out.data]).toEqual([0, 7]);
  });

  const truncated: { description: string; value: unknown; field: 'message' | 'reason' }[] = [
    { description: 'an overlong error message', value: { ...errorMsg, message: 'x'.repeat(5000) }, field: 'message' },
    { description: 'an overlong close reason', value: { ...close, reason: 'y'.repeat(5000) }, field: 'reason' },
  ];
  for (const c of truncated) {
    it(`truncates ${c.description}`, () => {
      const out = validateMessage(c.value) as unknown as Record<string, string>;
      expect(out[c.field]).toHaveLength(LIMITS.maxMessageChars);
    });
  }

  it('never cuts a surrogate pair in half when truncating', () => {
    const out = validateMessage({ ...close, reason: `${'z'.repeat(LIMITS.maxMessageChars - 1)}\u{1F600}` });
    if (out.type !== 'close') throw new Error('expected a close');
    expect(out.reason).toBe('z'.repeat(LIMITS.maxMessageChars - 1));
  });
});

describe('validateMessage rejects', () => {
  /** Each case breaks one rule; `mentions` must appear in the error message. */
  const cases: { description: string; value: unknown; mentions: string }[] = [
    // The message itself.
    { description: 'null', value: null, mentions: 'message' },
    { description: 'an array', value: [hello], mentions: 'message' },
    { description: 'a string', value: 'hello', mentions: 'message' },
    { description: 'a Date', value: new Date(0), mentions: 'message' },
    { description: 'a Map', value: new Map([['type', 'ping']]), mentions: 'message' },
    { description: 'a missing type', value: {}, mentions: 'type' },
    { description: 'a numeric type', value: { type: 1 }, mentions: 'type' },
    { description: 'an unknown type', value: { type: 'gossip' }, mentions: 'unknown type' },
    { description: 'an inherited type name', value: { type: 'toString' }, mentions: 'unknown type' },

    // Hello.
    { description: 'hello: short node id', value: withField(hello, 'id', 'a1'.repeat(31)), mentions: 'id' },
    { description: 'hello: uppercase node id', value: withField(hello, 'id', nodeA.toUpperCase()), mentions: 'id' },
    { description: 'hello: missing node id', value: withField(hello, 'id', REMOVE), mentions: 'id' },
    { description: 'hello: protocol 0', value: withField(hello, 'protocol', 0), mentions: 'protocol' },
    { description: 'hello: protocol 1.5', value: withField(hello, 'protocol', 1.5), mentions: 'protocol' },
    { description: 'hello: protocol as a string', value: withField(hello, 'protocol', '1'), mentions: 'protocol' },
    { description: 'hello: name not a string', value: withField(hello, 'name', 7), mentions: 'name' },
    { description: 'hello: name of 65 characters', value: withField(hello, 'name', 'n'.repeat(65)), mentions: 'name' },
    { description: 'hello: name with a newline', value: withField(hello, 'name', 'a\nb'), mentions: 'name' },
    { description: 'hello: name with an escape', value: withField(hello, 'name', '\u001b[31m'), mentions: 'name' },
    { description: 'hello: listenPort 65536', value: withField(hello, 'listenPort', 65536), mentions: 'listenPort' },
    { description: 'hello: listenPort -1', value: withField(hello, 'listenPort', -1), mentions: 'listenPort' },
    { description: 'hello: intent unknown', value: withField(hello, 'intent', 'spy'), mentions: 'intent' },
    { description: 'hello: folders not an array', value: withField(hello, 'folders', {}), mentions: 'folders' },
    {
      description: 'hello: too many folders',
      value: withField(hello, 'folders', manyOf(LIMITS.maxFolders + 1, (i) => ({ ...folderDocs, id: `f${i}` }))),
      mentions: 'folders',
    },
    {
      description: 'hello: duplicate folder',
      value: withField(hello, 'folders', [folderDocs, folderDocs]),
      mentions: 'twice',
    },
    { description: 'hello: folder not a map', value: withField(hello, 'folders', ['docs']), mentions: 'hello folder' },
    { description: 'hello folder: id ".."', value: helloWith(withField(folderDocs, 'id', '..')), mentions: 'id' },
    { description: 'hello folder: id "."', value: helloWith(withField(folderDocs, 'id', '.')), mentions: 'id' },
    { description: 'hello folder: id with a slash', value: helloWith(withField(folderDocs, 'id', 'a/b')), mentions: 'id' },
    { description: 'hello folder: empty id', value: helloWith(withField(folderDocs, 'id', '')), mentions: 'id' },
    {
      description: 'hello folder: id of 65 characters',
      value: helloWith(withField(folderDocs, 'id', 'x'.repeat(65))),
      mentions: 'id',
    },
    {
      description: 'hello folder: short indexId',
      value: helloWith(withField(folderDocs, 'indexId', '0123')),
      mentions: 'indexId',
    },
    { description: 'hello folder: empty indexId', value: helloWith(withField(folderDocs, 'indexId', '')), mentions: 'indexId' },
    {
      description: 'hello folder: negative maxSequence',
      value: helloWith(withField(folderDocs, 'maxSequence', -1)),
      mentions: 'maxSequence',
    },
    {
      description: 'hello folder: unsafe maxSequence',
      value: helloWith(withField(folderDocs, 'maxSequence', 2 ** 53)),
      mentions: 'maxSequence',
    },
    {
      description: 'hello folder: bigint maxSequence',
      value: helloWith(withField(folderDocs, 'maxSequence', 5n)),
      mentions: 'maxSequence',
    },
    {
      description: 'hello folder: uppercase digest',
      value: helloWith(withField(folderDocs, 'digest', 'FE'.repeat(16))),
      mentions: 'digest',
    },
    {
      description: 'hello folder: long digest',
      value: helloWith(withField(folderDocs, 'digest', 'fe'.repeat(32))),
      mentions: 'digest',
    },
    { description: 'hello folder: missing have', value: helloWith(withField(folderDocs, 'have', REMOVE)), mentions: 'have' },
    {
      description: 'hello folder: bad have.indexId',
      value: helloWith(withField(folderDocs, 'have', { indexId: 'zz', sequence: 0 })),
      mentions: 'have.indexId',
    },
    {
      description: 'hello folder: bad have.sequence',
      value: helloWith(withField(folderDocs, 'have', { indexId: '', sequence: 0.5 })),
      mentions: 'sequence',
    },

    // Index.
    { description: 'index: bad folder id', value: withField(index, 'folder', '../x'), mentions: 'folder' },
    { description: 'index: bad indexId', value: withField(index, 'indexId', 'xyz'), mentions: 'indexId' },
    { description: 'index: reset not a boolean', value: withField(index, 'reset', 1), mentions: 'reset' },
    { description: 'index: entries not an array', value: withField(index, 'entries', null), mentions: 'entries' },
    {
      description: 'index: too many entries',
      value: withField(index, 'entries', manyOf(LIMITS.maxEntriesPerIndex + 1, (i) => ({ ...fileA, path: `f${i}` }))),
      mentions: 'entries',
    },
    {
      description: 'index: duplicate paths',
      value: withField(index, 'entries', [fileA, fileA]),
      mentions: 'listed twice',
    },
    {
      description: 'index: duplicate paths after NFC',
      value: withField(index, 'entries', [{ ...fileA, path: 'caf\u00e9' }, { ...fileA, path: 'cafe\u0301' }]),
      mentions: 'listed twice',
    },
    { description: 'index entry: not a map', value: withField(index, 'entries', [1]), mentions: 'index entry' },

    // Index entries: paths (THREATS P1-P3).
    ...hostilePaths.map((p) => ({
      description: `P1: index entry: path ${JSON.stringify(p)}`,
      value: indexWith(withField(fileA, 'path', p)),
      mentions: 'path',
    })),
    { description: 'index entry: path not a string', value: indexWith(withField(fileA, 'path', 3)), mentions: 'path' },
    {
      description: 'index entry: temp file name',
      value: indexWith(withField(fileA, 'path', 'notes/.~wizard-a.txt-x1.tmp')),
      mentions: 'temp',
    },
    {
      description: 'index entry: temp dir name',
      value: indexWith(withField(fileA, 'path', '.~wizard-d-1.tmp/a')),
      mentions: 'temp',
    },

    // Index entries: fields.
    { description: 'index entry: unknown type', value: indexWith(withField(fileA, 'type', 'fifo')), mentions: 'type' },
    { description: 'index entry: missing type', value: indexWith(withField(fileA, 'type', REMOVE)), mentions: 'type' },
    { description: 'index entry: size as a string', value: indexWith(withField(fileA, 'size', '12')), mentions: 'size' },
    { description: 'index entry: negative size', value: indexWith(withField(fileA, 'size', -1)), mentions: 'size' },
    { description: 'index entry: fractional size', value: indexWith(withField(fileA, 'size', 1.5)), mentions: 'size' },
    { description: 'index entry: NaN mtime', value: indexWith(withField(fileA, 'mtimeMs', Number.NaN)), mentions: 'mtimeMs' },
    {
      description: 'index entry: infinite mtime',
      value: indexWith(withField(fileA, 'mtimeMs', Infinity)),
      mentions: 'mtimeMs',
    },
    {
      description: 'index entry: mtime as a Date',
      value: indexWith(withField(fileA, 'mtimeMs', new Date(0))),
      mentions: 'mtimeMs',
    },
    { description: 'index entry: mode above 7777', value: indexWith(withField(fileA, 'mode', 0o10000)), mentions: 'mode' },
    { description: 'index entry: negative mode', value: indexWith(withField(fileA, 'mode', -1)), mentions: 'mode' },
    { description: 'index entry: fractional mode', value: indexWith(withField(fileA, 'mode', 0.5)), mentions: 'mode' },
    { description: 'index entry: file without a hash', value: indexWith(withField(fileA, 'hash', '')), mentions: 'hash' },
    {
      description: 'index entry: file with an uppercase hash',
      value: indexWith(withField(fileA, 'hash', hashX.toUpperCase())),
      mentions: 'hash',
    },
    { description: 'index entry: file with a short hash', value: indexWith(withField(fileA, 'hash', 'ab')), mentions: 'hash' },
    { description: 'index entry: dir with a hash', value: indexWith(withField(dirN, 'hash', hashX)), mentions: 'hash' },
    { description: 'index entry: symlink with a hash', value: indexWith(withField(linkL, 'hash', hashX)), mentions: 'hash' },
    {
      description: 'index entry: deleted entry with a hash',
      value: indexWith(withField(goneG, 'hash', hashX)),
      mentions: 'hash',
    },
    {
      description: 'index entry: deleted entry with a size',
      value: indexWith(withField(goneG, 'size', 12)),
      mentions: 'deleted entry has size 12',
    },
    { description: 'index entry: dir with a size', value: indexWith(withField(dirN, 'size', 4096)), mentions: 'size' },
    { description: 'index entry: symlink with a size', value: indexWith(withField(linkL, 'size', 5)), mentions: 'size' },
    {
      description: 'index entry: symlink without a target',
      value: indexWith(withField(linkL, 'target', '')),
      mentions: 'target',
    },
    {
      description: 'index entry: symlink target with NUL',
      value: indexWith(withField(linkL, 'target', 'a\0b')),
      mentions: 'target',
    },
    {
      description: 'index entry: symlink target over maxPathBytes',
      value: indexWith(withField(linkL, 'target', 't'.repeat(LIMITS.maxPathBytes + 1))),
      mentions: 'target',
    },
    { description: 'index entry: target not a string', value: indexWith(withField(linkL, 'target', 1)), mentions: 'target' },
    { description: 'index entry: file with a target', value: indexWith(withField(fileA, 'target', 'x')), mentions: 'target' },
    {
      description: 'index entry: deleted symlink with a target',
      value: indexWith({ ...linkL, deleted: true }),
      mentions: 'target',
    },
    {
      description: 'index entry: deleted not a boolean',
      value: indexWith(withField(fileA, 'deleted', 0)),
      mentions: 'deleted',
    },
    { description: 'index entry: sequence 0', value: indexWith(withField(fileA, 'sequence', 0)), mentions: 'sequence' },
    {
      description: 'index entry: unsafe sequence',
      value: indexWith(withField(fileA, 'sequence', 2 ** 60)),
      mentions: 'sequence',
    },
    { description: 'index entry: version missing', value: indexWith(withField(fileA, 'version', REMOVE)), mentions: 'version' },
    { description: 'index entry: version an array', value: indexWith(withField(fileA, 'version', [1])), mentions: 'version' },
    { description: 'index entry: empty version', value: indexWith(withField(fileA, 'version', {})), mentions: 'version' },
    {
      description: 'index entry: version key too short',
      value: indexWith(withField(fileA, 'version', { abc: 1 })),
      mentions: 'version key',
    },
    {
      description: 'index entry: version key a full node id',
      value: indexWith(withField(fileA, 'version', { [nodeA]: 1 })),
      mentions: 'version key',
    },
    {
      description: 'index entry: version key uppercase',
      value: indexWith(withField(fileA, 'version', { [shortA.toUpperCase()]: 1 })),
      mentions: 'version key',
    },
    {
      description: 'index entry: version counter 0',
      value: indexWith(withField(fileA, 'version', { [shortA]: 0 })),
      mentions: 'version counter',
    },
    {
      description: 'index entry: version counter negative',
      value: indexWith(withField(fileA, 'version', { [shortA]: -2 })),
      mentions: 'version counter',
    },
    {
      description: 'index entry: version counter fractional',
      value: indexWith(withField(fileA, 'version', { [shortA]: 1.5 })),
      mentions: 'version counter',
    },
    {
      description: 'index entry: version counter a string',
      value: indexWith(withField(fileA, 'version', { [shortA]: '1' })),
      mentions: 'version counter',
    },
    {
      description: 'index entry: too many version keys',
      value: indexWith(withField(fileA, 'version', Object.fromEntries(manyOf(LIMITS.maxVersionKeys + 1, (i) => [i.toString(16).padStart(16, '0'), 1])))),
      mentions: 'version',
    },

    // Request.
    { description: 'request: path traversal', value: withField(request, 'path', '../../etc/passwd'), mentions: 'path' },
    {
      description: 'request: path inside .wizard',
      value: withField(request, 'path', '.wizard/index.db'),
      mentions: 'path',
    },
    { description: 'request: temp file', value: withField(request, 'path', '.~wizard-a-1.tmp'), mentions: 'temp' },
    { description: 'request: length 0', value: withField(request, 'length', 0), mentions: 'length' },
    {
      description: 'request: length over maxBlockBytes',
      value: withField(request, 'length', LIMITS.maxBlockBytes + 1),
      mentions: 'length',
    },
    { description: 'request: negative offset', value: withField(request, 'offset', -1), mentions: 'offset' },
    { description: 'request: offset as a string', value: withField(request, 'offset', '0'), mentions: 'offset' },
    { description: 'request: bad hash', value: withField(request, 'hash', ''), mentions: 'hash' },
    { description: 'request: negative id', value: withField(request, 'id', -1), mentions: 'id' },
    { description: 'request: bad folder', value: withField(request, 'folder', 'a b'), mentions: 'folder' },

    // Response, error, close.
    { description: 'response: data as a string', value: withField(response, 'data', 'abc'), mentions: 'data' },
    { description: 'response: data as an array', value: withField(response, 'data', [1, 2]), mentions: 'data' },
    {
      description: 'response: data over maxBlockBytes',
      value: withField(response, 'data', Buffer.alloc(LIMITS.maxBlockBytes + 1)),
      mentions: 'data',
    },
    { description: 'response: missing id', value: withField(response, 'id', REMOVE), mentions: 'id' },
    { description: 'error: unknown code', value: withField(errorMsg, 'code', 'EPERM'), mentions: 'code' },
    { description: 'error: message not a string', value: withField(errorMsg, 'message', null), mentions: 'message' },
    { description: 'error: fractional id', value: withField(errorMsg, 'id', 0.5), mentions: 'id' },
    { description: 'close: reason missing', value: withField(close, 'reason', REMOVE), mentions: 'reason' },

    // SumsRequest and Sums: limits checked before anything is allocated for them.
    { description: 'sums-request: block size below 1 KiB', value: withField(sumsRequest, 'blockSize', 512), mentions: 'blockSize' },
    { description: 'sums-request: block size above 64 KiB', value: withField(sumsRequest, 'blockSize', 65537), mentions: 'blockSize' },
    { description: 'sums-request: zero blocks', value: withField(sumsRequest, 'count', 0), mentions: 'count' },
    { description: 'sums-request: too many blocks', value: withField(sumsRequest, 'count', LIMITS.maxSumsPerMessage + 1), mentions: 'count' },
    { description: 'sums-request: path into .wizard', value: withField(sumsRequest, 'path', '.wizard/x'), mentions: 'path' },
    { description: 'sums-request: short hash', value: withField(sumsRequest, 'hash', 'ab'), mentions: 'hash' },
    { description: 'sums: weak not binary', value: withField(sums, 'weak', [1, 2, 3, 4]), mentions: 'weak' },
    { description: 'sums: weak not whole sums', value: withField(sums, 'weak', Buffer.alloc(39)), mentions: 'multiple of 4' },
    { description: 'sums: strong hashes for fewer blocks', value: withField(sums, 'strong', Buffer.alloc(9 * LIMITS.strongBytes)), mentions: 'strong' },
    { description: 'sums: more sums than a message may carry', value: withField(sums, 'weak', Buffer.alloc(4 * LIMITS.maxSumsPerMessage + 4)), mentions: 'weak' },
    { description: 'sums-request: group 0', value: withField(sumsRequest, 'group', 0), mentions: 'group' },
    { description: 'sums-request: group above the limit', value: withField(sumsRequest, 'group', LIMITS.maxSumsGroup + 1), mentions: 'group' },
    { description: 'sums: group digests with weak sums', value: { ...sums, group: 4 }, mentions: 'no weak sums' },
    { description: 'sums: group digests cut short', value: { ...sums, group: 4, weak: Buffer.alloc(0), strong: Buffer.alloc(17) }, mentions: 'whole digests' },
    { description: 'sums: block size 0', value: withField(sums, 'blockSize', 0), mentions: 'blockSize' },
    { description: 'sums: negative file size', value: withField(sums, 'fileSize', -1), mentions: 'fileSize' },
  ];
  for (const c of cases) {
    it(c.description, () => {
      expect(() => validateMessage(c.value)).toThrow(ProtocolError);
      expect(() => validateMessage(c.value)).toThrow(c.mentions);
    });
  }

  it('keeps the BadPathError as the cause of a path failure', () => {
    try {
      validateMessage(withField(request, 'path', '../x'));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).cause).toBeInstanceOf(BadPathError);
    }
  });
});

describe('F4: prototype tricks', () => {
  it('rejects an own __proto__ key in a version vector, and pollutes nothing', () => {
    const version: unknown = JSON.parse(`{"__proto__": {"polluted": 1}, "${shortA}": 1}`);
    expect(() => validateMessage(indexWith(withField(fileA, 'version', version)))).toThrow('version key');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('drops an own __proto__ key on a message', () => {
    const input: unknown = JSON.parse('{"type": "ping", "__proto__": {"type": "hello", "polluted": 1}}');
    const out = validateMessage(input);
    expect(out).toEqual({ type: 'ping' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('ignores fields inherited from a prototype', () => {
    // A message whose fields are only inherited must fail as if they were absent.
    const input: unknown = Object.create({ type: 'close', reason: 'x' });
    expect(() => validateMessage(input)).toThrow(ProtocolError);
  });

  it('rejects a constructor key in a version vector', () => {
    expect(() => validateMessage(indexWith(withField(fileA, 'version', { constructor: 1 })))).toThrow('version key');
  });
});
