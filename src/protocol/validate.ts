/**
 * Validation of decoded peer messages. Each message type has one validator,
 * and each rule its own error, so a log line says which rule a peer broke.
 * Validators copy only the fields they checked into a fresh object: unknown
 * keys and prototype tricks in the input never reach the rest of Wizard.
 * Here: the dispatch, the link's own messages (hello, index, error, close);
 * those that move content are in validate-transfer.ts, those of trust in
 * validate-trust.ts, and the field readers in fields.ts.
 */
import { ProtocolError } from '../core/errors.js';
import { array, bool, describe, field, folderId, hex, nodeName, plainObject, relPath, safeUint, string, truncateChars } from './fields.js';
import { ERROR_CODES, validateFiles, validateFilesRequest, validateRequest, validateResponse, validateSums, validateSumsRequest } from './validate-transfer.js';
import { validateEnrolGrant, validateEnrolOffer, validateEnrolRequest, validateIntroduce, validateRevocations } from './validate-trust.js';
import type { EntryType, FileEntry } from '../index/entry.js';
import { MAX_COUNTER, SHORT_ID_HEX, type VersionVector } from '../versions/vector.js';
import {
  LIMITS,
  type CloseMessage,
  type ErrorMessage,
  type Hello,
  type HelloFolder,
  type IndexMessage,
  type Message,
  type MessageType,
} from './messages.js';

const NODE_ID = /^[0-9a-f]{64}$/;
const INDEX_ID = /^[0-9a-f]{16}$/;
const DIGEST = /^[0-9a-f]{32}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SHORT_ID = new RegExp(`^[0-9a-f]{${SHORT_ID_HEX}}$`);
const ENTRY_TYPES: ReadonlySet<string> = new Set<EntryType>(['file', 'dir', 'symlink']);
/** Highest permission bits: setuid, setgid, sticky, rwx for all. */
const MAX_MODE = 0o7777;
const MAX_PORT = 65535;

/** Validates a decoded message and returns a fresh copy holding only the validated fields. */
export function validateMessage(value: unknown): Message {
  const m = plainObject(value, 'message');
  const type = field(m, 'type');
  if (typeof type !== 'string') throw new ProtocolError(`message: type is ${describe(type)}, not a string`);
  switch (type as MessageType) {
    case 'hello':
      return validateHello(m);
    case 'index':
      return validateIndex(m);
    case 'request':
      return validateRequest(m);
    case 'response':
      return validateResponse(m);
    case 'files-request':
      return validateFilesRequest(m);
    case 'files':
      return validateFiles(m);
    case 'sums-request':
      return validateSumsRequest(m);
    case 'sums':
      return validateSums(m);
    case 'error':
      return validateError(m);
    case 'close':
      return validateClose(m);
    case 'ping':
      return { type: 'ping' };
    case 'pong':
      return { type: 'pong' };
    case 'enrol-offer':
      return validateEnrolOffer(m);
    case 'enrol-request':
      return validateEnrolRequest(m);
    case 'enrol-grant':
      return validateEnrolGrant(m);
    case 'revocations':
      return validateRevocations(m);
    case 'introduce':
      return validateIntroduce(m);
    default:
      throw new ProtocolError(`message: unknown type ${JSON.stringify(type.slice(0, 32))}`);
  }
}

/** Validates a Hello (see docs/PROTOCOL.md). */
export function validateHello(value: unknown): Hello {
  const ctx = 'hello';
  const m = plainObject(value, ctx);
  const intent = field(m, 'intent');
  if (intent !== 'sync' && intent !== 'pair') throw new ProtocolError(`${ctx}: intent is ${describe(intent)}`);
  const protocol = safeUint(m, 'protocol', ctx);
  if (protocol < 1) throw new ProtocolError(`${ctx}: protocol is 0`);
  const listenPort = safeUint(m, 'listenPort', ctx);
  if (listenPort > MAX_PORT) throw new ProtocolError(`${ctx}: listenPort ${listenPort} is above ${MAX_PORT}`);
  const rawFolders = array(m, 'folders', ctx, LIMITS.maxFolders);
  const folders: HelloFolder[] = [];
  const seen = new Set<string>();
  for (const raw of rawFolders) {
    const folder = validateHelloFolder(raw);
    if (seen.has(folder.id)) throw new ProtocolError(`${ctx}: folder ${folder.id} listed twice`);
    seen.add(folder.id);
    folders.push(folder);
  }
  return {
    type: 'hello',
    protocol,
    id: hex(m, 'id', ctx, NODE_ID, '64 lowercase hex digits'),
    name: nodeName(m, ctx),
    listenPort,
    intent,
    folders,
  };
}

/** Validates one folder of a Hello. `have.indexId` may be '' (nothing of the receiver's index yet). */
export function validateHelloFolder(value: unknown): HelloFolder {
  const ctx = 'hello folder';
  const f = plainObject(value, ctx);
  const have = plainObject(field(f, 'have'), `${ctx} have`);
  const haveIndexId = field(have, 'indexId');
  if (haveIndexId !== '' && !(typeof haveIndexId === 'string' && INDEX_ID.test(haveIndexId))) {
    throw new ProtocolError(`${ctx}: have.indexId is not 16 lowercase hex digits or ''`);
  }
  return {
    id: folderId(f, 'id', ctx),
    indexId: hex(f, 'indexId', ctx, INDEX_ID, '16 lowercase hex digits'),
    maxSequence: safeUint(f, 'maxSequence', ctx),
    digest: hex(f, 'digest', ctx, DIGEST, '32 lowercase hex digits'),
    have: { indexId: haveIndexId, sequence: safeUint(have, 'sequence', `${ctx} have`) },
  };
}

/** Validates an Index message: at most `LIMITS.maxEntriesPerIndex` entries, no path twice. */
export function validateIndex(value: unknown): IndexMessage {
  const ctx = 'index';
  const m = plainObject(value, ctx);
  const rawEntries = array(m, 'entries', ctx, LIMITS.maxEntriesPerIndex);
  const entries: FileEntry[] = [];
  const seen = new Set<string>();
  for (const raw of rawEntries) {
    const entry = validateEntry(raw);
    if (seen.has(entry.path)) throw new ProtocolError(`${ctx}: path ${describe(entry.path)} listed twice`);
    seen.add(entry.path);
    entries.push(entry);
  }
  return {
    type: 'index',
    folder: folderId(m, 'folder', ctx),
    indexId: hex(m, 'indexId', ctx, INDEX_ID, '16 lowercase hex digits'),
    reset: bool(m, 'reset', ctx),
    entries,
  };
}

/**
 * Validates one index entry, including the consistency rules between fields:
 * only a live file has a size and a hash, only a live symlink has a target.
 */
export function validateEntry(value: unknown): FileEntry {
  const ctx = 'index entry';
  const e = plainObject(value, ctx);
  const path = relPath(e, ctx);
  const type = field(e, 'type');
  if (typeof type !== 'string' || !ENTRY_TYPES.has(type)) throw new ProtocolError(`${ctx}: type is ${describe(type)}`);
  const entryType = type as EntryType;
  const deleted = bool(e, 'deleted', ctx);
  const kind = deleted ? 'deleted entry' : `${entryType} entry`;
  const isLiveFile = !deleted && entryType === 'file';
  const isLiveSymlink = !deleted && entryType === 'symlink';

  const size = safeUint(e, 'size', ctx);
  if (!isLiveFile && size !== 0) throw new ProtocolError(`${ctx}: ${kind} has size ${size}`);

  const hash = string(e, 'hash', ctx);
  if (isLiveFile && !SHA256.test(hash)) {
    throw new ProtocolError(`${ctx}: hash of a file is not 64 lowercase hex digits`);
  }
  if (!isLiveFile && hash !== '') throw new ProtocolError(`${ctx}: ${kind} has a hash`);

  const target = string(e, 'target', ctx);
  if (isLiveSymlink) {
    if (target === '') throw new ProtocolError(`${ctx}: symlink target is empty`);
    if (target.includes('\0')) throw new ProtocolError(`${ctx}: symlink target contains NUL`);
    if (Buffer.byteLength(target, 'utf8') > LIMITS.maxPathBytes) {
      throw new ProtocolError(`${ctx}: symlink target longer than ${LIMITS.maxPathBytes} bytes`);
    }
  } else if (target !== '') {
    throw new ProtocolError(`${ctx}: ${kind} has a target`);
  }

  const mtimeMs = field(e, 'mtimeMs');
  if (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)) {
    throw new ProtocolError(`${ctx}: mtimeMs is ${describe(mtimeMs)}, not a finite number`);
  }
  const mode = safeUint(e, 'mode', ctx);
  if (mode > MAX_MODE) throw new ProtocolError(`${ctx}: mode ${mode.toString(8)} is above 7777 (octal)`);
  const sequence = safeUint(e, 'sequence', ctx);
  if (sequence < 1) throw new ProtocolError(`${ctx}: sequence is 0`);

  return {
    path,
    type: entryType,
    size,
    mtimeMs,
    mode,
    hash,
    target,
    version: validateVersion(field(e, 'version'), ctx),
    deleted,
    sequence,
  };
}

/**
 * Largest version counter on the wire (2^52); a larger one is a protocol error.
 * Which counters below it a node takes is plausible.ts's rule, per entry.
 */
export const MAX_VERSION_COUNTER = MAX_COUNTER;

/** Validates a version vector: 1..`LIMITS.maxVersionKeys` short node IDs, each with a positive counter. */
export function validateVersion(value: unknown, ctx: string): VersionVector {
  const v = plainObject(value, `${ctx} version`);
  const keys = Object.keys(v);
  if (keys.length === 0) throw new ProtocolError(`${ctx}: version is empty`);
  if (keys.length > LIMITS.maxVersionKeys) {
    throw new ProtocolError(`${ctx}: version has ${keys.length} keys, more than ${LIMITS.maxVersionKeys}`);
  }
  const out: Record<string, number> = {};
  for (const key of keys) {
    if (!SHORT_ID.test(key)) {
      throw new ProtocolError(`${ctx}: version key ${describe(key)} is not ${SHORT_ID_HEX} lowercase hex digits`);
    }
    const counter = v[key];
    // Capped well below 2^53 so that our own bump of the largest counter stays a safe integer.
    if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1 || counter > MAX_VERSION_COUNTER) {
      throw new ProtocolError(`${ctx}: version counter of ${key} is ${describe(counter)}, not an integer from 1 to 2^52`);
    }
    out[key] = counter;
  }
  return out;
}

/** Validates an Error; an overlong message is truncated, not refused. */
export function validateError(value: unknown): ErrorMessage {
  const ctx = 'error';
  const m = plainObject(value, ctx);
  const code = field(m, 'code');
  if (typeof code !== 'string' || !ERROR_CODES.has(code)) throw new ProtocolError(`${ctx}: code is ${describe(code)}`);
  return {
    type: 'error',
    id: safeUint(m, 'id', ctx),
    code: code as ErrorMessage['code'],
    message: truncateChars(string(m, 'message', ctx), LIMITS.maxMessageChars),
  };
}

/** Validates a Close; an overlong reason is truncated, not refused. */
export function validateClose(value: unknown): CloseMessage {
  const m = plainObject(value, 'close');
  return { type: 'close', reason: truncateChars(string(m, 'reason', 'close'), LIMITS.maxMessageChars) };
}
