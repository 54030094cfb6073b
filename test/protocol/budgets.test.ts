/**
 * Per-type budgets (docs/PROTOCOL.md section 2.1): the largest message an
 * honest Wizard sends of each type fits well inside its budget, and a body
 * past a budget is refused by the shape walk, before the decoder builds anything.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/core/errors.js';
import type { FileEntry } from '../../src/index/entry.js';
import { ANY_MESSAGE_RULES, GREETING_RULES, MESSAGE_BUDGETS, SESSION_RULES, type MessageRules } from '../../src/protocol/budgets.js';
import { decodeMessage, encodeBody } from '../../src/protocol/codec.js';
import { LIMITS, PROTOCOL_VERSION, type Message, type MessageType } from '../../src/protocol/messages.js';
import { checkShape } from '../../src/protocol/shape.js';
import { truncateChars } from '../../src/protocol/fields.js';
import { byEncodedSize } from '../../src/sync/peers/exchange.js';

/** A plain msgpack encoder for bodies that break the rules. */
const rawPackr = new Packr({ useRecords: false });

const versions = new Map<number, Record<string, number>>();
/** A version of `keys` short node IDs (1,000 is the widest an index entry may carry). */
function wideVersion(keys: number): Record<string, number> {
  let v = versions.get(keys);
  if (v === undefined) {
    v = Object.fromEntries(Array.from({ length: keys }, (_, i) => [i.toString(16).padStart(16, '0'), 1_700_000_000 + i]));
    versions.set(keys, v);
  }
  return v;
}

/** A name of `chars` code points, each 4 bytes of UTF-8. */
const astral = (chars: number) => '\u{1F5A5}'.repeat(chars);

function entry(i: number, pathBytes: number, versionKeys: number): FileEntry {
  const name = `file-${i}`;
  return {
    path: `${'d'.repeat(200)}/`.repeat(Math.max(0, Math.floor((pathBytes - name.length) / 201))) + name,
    type: 'file',
    size: 2 ** 40,
    mtimeMs: 1_700_000_000_123.25,
    mode: 0o644,
    hash: 'ab'.repeat(32),
    target: '',
    version: wideVersion(versionKeys),
    deleted: false,
    sequence: 2 ** 40 + i,
  };
}

/** The honest message, its body, and its budget. */
function measured(msg: Message): { bytes: number; values: number; budget: (typeof MESSAGE_BUDGETS)[MessageType] } {
  const body = encodeBody(msg);
  const shape = checkShape(body, ANY_MESSAGE_RULES);
  expect(shape.type).toBe(msg.type);
  return { bytes: body.length, values: shape.values, budget: MESSAGE_BUDGETS[msg.type] };
}

describe('the largest honest message of each type fits well inside its budget', () => {
  const folders = Array.from({ length: LIMITS.maxFolders }, (_, i) => ({
    id: `${'f'.repeat(60)}${i.toString().padStart(4, '0')}`,
    indexId: 'a'.repeat(16),
    maxSequence: 2 ** 53 - 1,
    digest: 'b'.repeat(32),
    have: { indexId: 'c'.repeat(16), sequence: 2 ** 53 - 1 },
  }));
  const inviteFolders = Array.from({ length: LIMITS.maxInviteFolders }, (_, i) => `${'g'.repeat(60)}${i.toString().padStart(4, '0')}`);
  const cases: Array<{ description: string; msg: () => Message; margin: number }> = [
    {
      description: `a hello listing ${LIMITS.maxFolders} folders of 64-character IDs, with a 64-character name of 4-byte characters`,
      msg: () => ({ type: 'hello', protocol: PROTOCOL_VERSION, id: 'e'.repeat(64), name: astral(LIMITS.maxNodeNameChars), listenPort: 65535, intent: 'sync', folders }),
      margin: 2,
    },
    {
      description: 'a response of 1 MiB',
      msg: () => ({ type: 'response', id: 2 ** 53 - 1, data: Buffer.alloc(LIMITS.maxBlockBytes, 7) }),
      margin: 1,
    },
    {
      description: `sums of ${LIMITS.maxSumsPerMessage} blocks`,
      msg: () => ({
        type: 'sums',
        id: 2 ** 53 - 1,
        fileSize: 2 ** 53 - 1,
        blockSize: LIMITS.maxSumsBlockBytes,
        first: 2 ** 53 - 1,
        group: 1,
        weak: Buffer.alloc(4 * LIMITS.maxSumsPerMessage, 1),
        strong: Buffer.alloc(LIMITS.strongBytes * LIMITS.maxSumsPerMessage, 2),
      }),
      margin: 1.5,
    },
    {
      description: 'a request for a path of 4,096 bytes',
      msg: () => ({ type: 'request', id: 2 ** 53 - 1, folder: 'f'.repeat(64), path: entry(0, LIMITS.maxPathBytes, 1).path, hash: 'ab'.repeat(32), offset: 2 ** 53 - 1, length: LIMITS.maxBlockBytes }),
      margin: 3,
    },
    {
      description: `a files-request for ${LIMITS.maxFilesPerRequest} files with paths of 4,096 bytes`,
      msg: () => ({
        type: 'files-request', id: 2 ** 53 - 1, folder: 'f'.repeat(64),
        files: Array.from({ length: LIMITS.maxFilesPerRequest }, (_, i) => ({ path: entry(i, LIMITS.maxPathBytes, 1).path, hash: 'ab'.repeat(32), length: LIMITS.maxBatchBytes / LIMITS.maxFilesPerRequest })),
      }),
      margin: 1.1,
    },
    {
      description: `a files answer of ${LIMITS.maxBatchBytes} bytes in ${LIMITS.maxFilesPerRequest} files with paths of 4,096 bytes`,
      msg: () => ({
        type: 'files', id: 2 ** 53 - 1,
        files: Array.from({ length: LIMITS.maxFilesPerRequest }, (_, i) => ({ path: entry(i, LIMITS.maxPathBytes, 1).path, data: Buffer.alloc(LIMITS.maxBatchBytes / LIMITS.maxFilesPerRequest, 7) })),
      }),
      margin: 1.1,
    },
    {
      description: 'a sums-request for a path of 4,096 bytes',
      msg: () => ({ type: 'sums-request', id: 1, folder: 'f'.repeat(64), path: entry(0, LIMITS.maxPathBytes, 1).path, hash: 'ab'.repeat(32), blockSize: 1024, first: 2 ** 53 - 1, count: LIMITS.maxSumsPerMessage, group: LIMITS.maxSumsGroup }),
      margin: 3,
    },
    {
      description: 'an error whose message a sender cut to 1,024 characters of 4-byte UTF-8',
      msg: () => ({ type: 'error', id: 1, code: 'io', message: truncateChars(astral(4000), LIMITS.maxMessageChars) }),
      margin: 3,
    },
    {
      description: `an enrolment grant introducing ${LIMITS.maxIntroducedPeers} peers, each sharing ${LIMITS.maxInviteFolders} folders of 64-character IDs`,
      msg: () => ({
        type: 'enrol-grant',
        cert: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(LIMITS.maxCertPemChars - 60)}\n-----END CERTIFICATE-----\n`,
        id: 'e'.repeat(64),
        name: astral(LIMITS.maxNodeNameChars),
        folders: inviteFolders,
        peers: Array.from({ length: LIMITS.maxIntroducedPeers }, (_, i) => ({ id: i.toString(16).padStart(64, '0'), name: astral(LIMITS.maxNodeNameChars), address: `[${'f'.repeat(39)}]:65535`, folders: inviteFolders })),
      }),
      margin: 1.5,
    },
    {
      description: `a revocation list of ${LIMITS.maxRevokedNodes} node IDs`,
      msg: () => ({ type: 'revocations', list: Buffer.alloc(LIMITS.maxRevokedNodes * 67 + 200, 0x61), signature: Buffer.alloc(512) }),
      margin: 1,
    },
    {
      description: 'a close whose reason a sender cut to 1,024 characters of 4-byte UTF-8',
      msg: () => ({ type: 'close', reason: truncateChars(astral(4000), LIMITS.maxMessageChars) }),
      margin: 3,
    },
    { description: 'a ping', msg: () => ({ type: 'ping' }), margin: 10 },
    { description: 'a pong', msg: () => ({ type: 'pong' }), margin: 10 },
  ];
  it.each(cases)('$description', ({ msg, margin }) => {
    const { bytes, values, budget } = measured(msg());
    expect(bytes * margin).toBeLessThanOrEqual(budget.maxBytes);
    expect(values * margin).toBeLessThanOrEqual(budget.maxValues);
  });

  const indexCases = [
    { description: '1,000 entries with 4 KiB paths and 20-key versions', entries: () => Array.from({ length: 1000 }, (_, i) => entry(i, LIMITS.maxPathBytes, 20)) },
    // 100 make several batches already; 1,000 would only repeat them.
    { description: '100 entries with short paths and 1,000-key versions', entries: () => Array.from({ length: 100 }, (_, i) => entry(i, 10, LIMITS.maxVersionKeys)) },
    { description: '1,000 entries with short paths and 5-key versions', entries: () => Array.from({ length: 1000 }, (_, i) => entry(i, 10, 5)) },
    { description: '1,000 tombstones with 1-byte paths and 1-key versions', entries: () => Array.from({ length: 1000 }, (_, i) => ({ ...entry(i, 1, 1), path: `${i}`, hash: '', size: 0, deleted: true })) },
  ];
  it.each(indexCases)('an index of $description, as the sender splits it: each batch within half the bytes and a quarter of the values', ({ entries }) => {
    const batches = byEncodedSize(entries());
    for (const batch of batches) {
      const { bytes, values, budget } = measured({ type: 'index', folder: 'f'.repeat(64), indexId: 'a'.repeat(16), reset: true, entries: batch });
      expect(bytes * 2).toBeLessThanOrEqual(budget.maxBytes);
      expect(values * 4).toBeLessThanOrEqual(budget.maxValues);
    }
  });
});

/** A map `{type, pad}` whose pad is `count` empty maps; `typeLast` puts the type key after the pad. */
function tinyMaps(type: string, count: number, typeLast = false): Buffer {
  const array = Buffer.alloc(5);
  array[0] = 0xdd;
  array.writeUInt32BE(count, 1);
  const typePair = Buffer.concat([rawPackr.pack('type'), rawPackr.pack(type)]);
  const padPair = Buffer.concat([rawPackr.pack('pad'), array, Buffer.alloc(count, 0x80)]);
  return Buffer.concat([Buffer.from([0x82]), ...(typeLast ? [padPair, typePair] : [typePair, padPair])]);
}

function refusal(body: Buffer, rules: MessageRules = SESSION_RULES): string {
  try {
    decodeMessage(body, rules);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('item 4: a body past its budget is refused before it is decoded', () => {
  it('refuses 4 MiB of empty maps in a ping on its size as soon as the type is read', () => {
    expect(refusal(tinyMaps('ping', 4 * 1024 * 1024 - 64))).toMatch(/a ping message of \d+ bytes, more than 1024 at byte 6$/);
  });

  it('refuses an index of 4 MiB of empty maps on its size, and one under its size limit on its values', () => {
    expect(refusal(tinyMaps('index', 4 * 1024 * 1024 - 64))).toMatch(/an? index message of \d+ bytes, more than 2097152/);
    expect(refusal(tinyMaps('index', 2 * 1024 * 1024 - 64))).toContain(`more than ${MESSAGE_BUDGETS.index.maxValues} values in a index message`);
  });

  it('counts values before the type is known, so a pad ahead of the type stops at the largest budget', () => {
    expect(refusal(tinyMaps('ping', 2 * 1024 * 1024 - 64, true))).toContain(`more than ${SESSION_RULES.maxValues} values at byte`);
    // Under the largest budget the type, once read, still applies its own.
    expect(refusal(tinyMaps('ping', 300, true))).toContain(`more than ${MESSAGE_BUDGETS.ping.maxValues} values in a ping message`);
    expect(refusal(tinyMaps('request', 300, true))).toContain(`more than ${MESSAGE_BUDGETS.request.maxValues} values in a request message`);
  });

  it('refuses a second type key, whose value the decoder would keep over the first', () => {
    const body = Buffer.concat([Buffer.from([0x82]), rawPackr.pack('type'), rawPackr.pack('index'), rawPackr.pack('type'), rawPackr.pack('ping')]);
    expect(refusal(body)).toContain('type given twice');
  });

  it('refuses an unknown type as soon as it is read', () => {
    expect(refusal(tinyMaps('gossip', 10))).toContain('unknown type "gossip"');
  });

  it('before the Hello accepts only a hello or a close, within their budgets', () => {
    expect(refusal(rawPackr.pack({ type: 'ping' }), GREETING_RULES)).toContain('first message was not hello (a ping message)');
    expect(refusal(rawPackr.pack({ type: 'index', folder: 'f', indexId: 'a'.repeat(16), reset: false, entries: [] }), GREETING_RULES)).toContain('first message was not hello');
    expect(decodeMessage(rawPackr.pack({ type: 'close', reason: 'bye' }), GREETING_RULES)).toEqual({ type: 'close', reason: 'bye' });
    expect(refusal(tinyMaps('hello', MESSAGE_BUDGETS.hello.maxValues), GREETING_RULES)).toContain('values in a hello message');
  });

  it('after the Hello refuses a second hello', () => {
    const hello = encodeBody({ type: 'hello', protocol: PROTOCOL_VERSION, id: 'e'.repeat(64), name: 'x', listenPort: 0, intent: 'sync', folders: [] });
    expect(refusal(hello, SESSION_RULES)).toContain('second hello');
  });
});
