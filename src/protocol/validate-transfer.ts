/**
 * Validation of the messages that move file content (docs/PROTOCOL.md's
 * request, response, files-request, files, sums-request and sums), as
 * validate.ts does the rest: each rule its own error, and only checked
 * fields copied out. A size a peer may ask for or send is bounded here, before
 * anything reads a file or allocates for an answer.
 */
import { ProtocolError } from '../core/errors.js';
import { array, binary, describe, field, folderId, hex, plainObject, relPath, safeUint, string, truncateChars } from './fields.js';
import {
  LIMITS,
  type ErrorMessage,
  type FileAnswer,
  type FileAsk,
  type FilesMessage,
  type FilesRequestMessage,
  type RequestMessage,
  type ResponseMessage,
  type SumsMessage,
  type SumsRequestMessage,
} from './messages.js';

const SHA256 = /^[0-9a-f]{64}$/;
/** The codes an error (or a files answer's failure) may carry. */
export const ERROR_CODES: ReadonlySet<string> = new Set<ErrorMessage['code']>(['not-found', 'changed', 'io']);

/** Validates a Request: a block of 1..`LIMITS.maxBlockBytes` bytes of a file with a given hash. */
export function validateRequest(value: unknown): RequestMessage {
  const ctx = 'request';
  const m = plainObject(value, ctx);
  const length = safeUint(m, 'length', ctx);
  if (length < 1 || length > LIMITS.maxBlockBytes) {
    throw new ProtocolError(`${ctx}: length ${length} is outside 1..${LIMITS.maxBlockBytes}`);
  }
  return {
    type: 'request',
    id: safeUint(m, 'id', ctx),
    folder: folderId(m, 'folder', ctx),
    path: relPath(m, ctx),
    hash: hex(m, 'hash', ctx, SHA256, '64 lowercase hex digits'),
    offset: safeUint(m, 'offset', ctx),
    length,
  };
}

/** Validates a Response. `data` is returned as a Buffer view of the decoded bytes, not a copy. */
export function validateResponse(value: unknown): ResponseMessage {
  const ctx = 'response';
  const m = plainObject(value, ctx);
  const data = field(m, 'data');
  if (!(data instanceof Uint8Array)) throw new ProtocolError(`${ctx}: data is ${describe(data)}, not binary`);
  if (data.byteLength > LIMITS.maxBlockBytes) {
    throw new ProtocolError(`${ctx}: data of ${data.byteLength} bytes exceeds ${LIMITS.maxBlockBytes}`);
  }
  return {
    type: 'response',
    id: safeUint(m, 'id', ctx),
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * Validates a FilesRequest: 1..`LIMITS.maxFilesPerRequest` files of one
 * folder, each of 1..`LIMITS.maxBatchFileBytes` bytes, together at most
 * `LIMITS.maxBatchBytes`, no path twice.
 */
export function validateFilesRequest(value: unknown): FilesRequestMessage {
  const ctx = 'files-request';
  const m = plainObject(value, ctx);
  const raw = array(m, 'files', ctx, LIMITS.maxFilesPerRequest);
  if (raw.length === 0) throw new ProtocolError(`${ctx}: files is empty`);
  const files: FileAsk[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const item of raw) {
    const f = plainObject(item, `${ctx} file`);
    const length = safeUint(f, 'length', `${ctx} file`);
    if (length < 1 || length > LIMITS.maxBatchFileBytes) throw new ProtocolError(`${ctx}: length ${length} is outside 1..${LIMITS.maxBatchFileBytes}`);
    total += length;
    const path = relPath(f, `${ctx} file`);
    if (seen.has(path)) throw new ProtocolError(`${ctx}: ${JSON.stringify(path.slice(0, 64))} asked for twice`);
    seen.add(path);
    files.push({ path, hash: hex(f, 'hash', `${ctx} file`, SHA256, '64 lowercase hex digits'), length });
  }
  if (total > LIMITS.maxBatchBytes) throw new ProtocolError(`${ctx}: ${total} bytes asked for, more than ${LIMITS.maxBatchBytes}`);
  return { type: 'files-request', id: safeUint(m, 'id', ctx), folder: folderId(m, 'folder', ctx), files };
}

/**
 * Validates Files: at most `LIMITS.maxFilesPerRequest` answers, each a path
 * and either `data` (at most `LIMITS.maxBatchFileBytes`) or an error code and
 * message. Whether they answer what was asked is the requester's check.
 */
export function validateFiles(value: unknown): FilesMessage {
  const ctx = 'files';
  const m = plainObject(value, ctx);
  const files: FileAnswer[] = [];
  for (const item of array(m, 'files', ctx, LIMITS.maxFilesPerRequest)) {
    const f = plainObject(item, `${ctx} file`);
    const path = relPath(f, `${ctx} file`);
    const data = field(f, 'data');
    if (data === undefined) {
      const code = string(f, 'code', `${ctx} file`);
      if (!ERROR_CODES.has(code)) throw new ProtocolError(`${ctx}: unknown error code ${JSON.stringify(code.slice(0, 32))}`);
      files.push({ path, code: code as ErrorMessage['code'], message: truncateChars(string(f, 'message', `${ctx} file`), LIMITS.maxMessageChars) });
      continue;
    }
    if (!(data instanceof Uint8Array)) throw new ProtocolError(`${ctx}: data is ${describe(data)}, not binary`);
    if (data.byteLength > LIMITS.maxBatchFileBytes) throw new ProtocolError(`${ctx}: data of ${data.byteLength} bytes exceeds ${LIMITS.maxBatchFileBytes}`);
    files.push({ path, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
  }
  return { type: 'files', id: safeUint(m, 'id', ctx), files };
}

/** Validates a SumsRequest: 1..`LIMITS.maxSumsPerMessage` blocks of a block size within the delta bounds. */
export function validateSumsRequest(value: unknown): SumsRequestMessage {
  const ctx = 'sums-request';
  const m = plainObject(value, ctx);
  const blockSize = sumsBlockSize(m, ctx);
  const count = safeUint(m, 'count', ctx);
  if (count < 1 || count > LIMITS.maxSumsPerMessage) throw new ProtocolError(`${ctx}: count ${count} is outside 1..${LIMITS.maxSumsPerMessage}`);
  return {
    type: 'sums-request',
    id: safeUint(m, 'id', ctx),
    folder: folderId(m, 'folder', ctx),
    path: relPath(m, ctx),
    hash: hex(m, 'hash', ctx, SHA256, '64 lowercase hex digits'),
    blockSize,
    first: safeUint(m, 'first', ctx),
    count,
    group: sumsGroup(m, ctx),
  };
}

/**
 * Validates Sums: a block size within the delta bounds, at most
 * `LIMITS.maxSumsPerMessage` blocks, and exactly one weak and one strong hash
 * per block. Whether the blocks fit the file is the requester's check.
 */
export function validateSums(value: unknown): SumsMessage {
  const ctx = 'sums';
  const m = plainObject(value, ctx);
  const blockSize = sumsBlockSize(m, ctx);
  const group = sumsGroup(m, ctx);
  const weak = binary(m, 'weak', ctx, LIMITS.maxSumsPerMessage * 4);
  const strong = binary(m, 'strong', ctx, LIMITS.maxSumsPerMessage * LIMITS.strongBytes);
  if (group > 1) {
    if (weak.byteLength !== 0) throw new ProtocolError(`${ctx}: group digests come with no weak sums`);
    if (strong.byteLength % LIMITS.strongBytes !== 0) throw new ProtocolError(`${ctx}: ${strong.byteLength} bytes of group digests, not whole digests`);
  } else {
    if (weak.byteLength % 4 !== 0) throw new ProtocolError(`${ctx}: weak has ${weak.byteLength} bytes, not a multiple of 4`);
    if (strong.byteLength !== (weak.byteLength / 4) * LIMITS.strongBytes) {
      throw new ProtocolError(`${ctx}: ${strong.byteLength} strong hash bytes for ${weak.byteLength / 4} blocks`);
    }
  }
  return {
    type: 'sums',
    id: safeUint(m, 'id', ctx),
    fileSize: safeUint(m, 'fileSize', ctx),
    blockSize,
    first: safeUint(m, 'first', ctx),
    group,
    weak,
    strong,
  };
}

function sumsGroup(m: Readonly<Record<string, unknown>>, ctx: string): number {
  const group = safeUint(m, 'group', ctx);
  if (group < 1 || group > LIMITS.maxSumsGroup) throw new ProtocolError(`${ctx}: group ${group} is outside 1..${LIMITS.maxSumsGroup}`);
  return group;
}

function sumsBlockSize(m: Readonly<Record<string, unknown>>, ctx: string): number {
  const blockSize = safeUint(m, 'blockSize', ctx);
  if (blockSize < LIMITS.minSumsBlockBytes || blockSize > LIMITS.maxSumsBlockBytes) {
    throw new ProtocolError(`${ctx}: blockSize ${blockSize} is outside ${LIMITS.minSumsBlockBytes}..${LIMITS.maxSumsBlockBytes}`);
  }
  return blockSize;
}
