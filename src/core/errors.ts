/**
 * Errors with stable codes. Code that decides what to do switches on `code`;
 * the message is what a user reads: what happened and what to do.
 */
export type ErrorCode =
  | 'USAGE' // bad command-line arguments (exit 2)
  | 'CONFIG' // config file missing, unreadable or invalid (exit 2)
  | 'BAD_PATH' // a relative path that is unsafe or malformed
  | 'PROTOCOL' // a peer sent something we will not accept; the connection is closed
  | 'PEER_AUTH' // TLS identity did not check out: wrong CA, wrong ID, revoked
  | 'UNREACHABLE' // could not connect to a peer
  | 'NOT_RUNNING' // no daemon is listening on the control socket
  | 'FOLDER_HALTED' // a folder stopped syncing to protect data (root or marker missing)
  | 'CHANGED' // the disk no longer matches the index; rescan and decide again
  | 'CASE_CONFLICT' // a path differs only in letter case from one already here, on a filesystem that cannot hold both
  | 'HASH_MISMATCH' // received content does not match the announced hash
  | 'NO_SPACE' // the disk (or quota) is full; retried with backoff, nothing partial is kept or renamed
  | 'TIMEOUT'
  | 'CLOSED'
  | 'INTERNAL';

/** Base of every error Wizard raises on purpose. */
export class WizardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'WizardError';
  }
}

/** A relative path that fails validation (traversal, absolute, NUL, inside `.wizard/`, ...). */
export class BadPathError extends WizardError {
  constructor(message: string) {
    super('BAD_PATH', message);
    this.name = 'BadPathError';
  }
}

/** A peer broke the protocol; the session that saw it closes. */
export class ProtocolError extends WizardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROTOCOL', message, options);
    this.name = 'ProtocolError';
  }
}

/** The config file is invalid; `file` and `line` point at the problem when known. */
export class ConfigError extends WizardError {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super('CONFIG', message);
    this.name = 'ConfigError';
  }
}

/** Bad command-line usage. */
export class UsageError extends WizardError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}

/** True when `err` is a WizardError with the given code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof WizardError && err.code === code;
}

/** The first `code` property along `err`'s cause chain that is in `codes` (errno or SQLite codes, say); undefined if none. */
export function codeInChain(err: unknown, codes: ReadonlySet<string>): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return code;
  }
  return undefined;
}

/** errno codes of a full disk or an exhausted quota. */
const NO_SPACE_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

/** True when `err` (or one of its causes) says the disk or the user's quota is full. */
export function isNoSpace(err: unknown): boolean {
  return hasCode(err, 'NO_SPACE') || codeInChain(err, NO_SPACE_CODES) !== undefined;
}

/**
 * A short, single-line description of any thrown value, for logs and status.
 * The code leads unless the message already names it: node's system errors
 * say `EEXIST: file already exists, mkdir '/x'` or `connect ENOENT /x`
 * themselves, SQLite's do not.
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || code === '' || err instanceof WizardError || namesCode(err.message, code)) return err.message;
    return `${code}: ${err.message}`;
  }
  return String(err);
}

/** Whether `message` has `code` as a word of its own. */
function namesCode(message: string, code: string): boolean {
  for (let at = message.indexOf(code); at >= 0; at = message.indexOf(code, at + 1)) {
    const before = message[at - 1];
    const after = message[at + code.length];
    if ((before === undefined || !/\w/.test(before)) && (after === undefined || !/\w/.test(after))) return true;
  }
  return false;
}
