/**
 * Which errors a restart cannot fix. Everything else is restarted with
 * backoff; these stop the daemon with one line saying what to do, because
 * restarting in a loop would only fill the log.
 */
import { codeInChain, WizardError } from '../core/errors.js';

/** An error that must stop the daemon; the message is the line the user reads. */
export class FatalError extends WizardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
    this.name = 'FatalError';
  }
}

/** SQLite result codes that mean the index file itself cannot be written. */
const UNWRITABLE_INDEX = new Set(['SQLITE_READONLY', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_READONLY_RECOVERY', 'SQLITE_CANTOPEN']);

/** The one-line reason when `err` is fatal, else undefined. */
export function fatalReason(err: unknown): string | undefined {
  if (err instanceof FatalError) return err.message;
  // Along the cause chain: the store wraps SQLite's errors in its own.
  const code = codeInChain(err, UNWRITABLE_INDEX);
  if (code !== undefined) {
    return `the index database cannot be written (${code}); make the Wizard home writable and start the daemon again`;
  }
  return undefined;
}
