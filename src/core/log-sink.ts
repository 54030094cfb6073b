/**
 * Where the daemon's log lines go: stdout while it takes them, then a file in
 * the home. A stdout whose reader went away (a closed pipe: EPIPE; a closed
 * terminal: EIO) fails every write; each failure used to surface as an
 * unowned error, logged to the same stdout, failing again: the daemon spun
 * on it and never got to handle SIGTERM. Here the first failure is noticed
 * once, the failed line and every later one go to the file, and a line that
 * cannot be written there either is dropped and counted, never retried in a loop.
 */
import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { describeError } from './errors.js';

/** Bytes the log file may reach before it is rotated to `<file>.1` (the one older generation kept). */
export const LOG_FILE_MAX_BYTES = 32 * 1024 * 1024;

/** What status says about the log once it left stdout. */
export interface LogSinkStatus {
  /** Where lines go now. */
  readonly destination: 'stdout' | 'file';
  /** The file lines go to after stdout failed. */
  readonly file: string;
  /** Why stdout was given up, and when (ms since the epoch). */
  readonly stdoutError?: string;
  readonly stdoutFailedAtMs?: number;
  /** Lines neither stdout nor the file could take. */
  readonly dropped: number;
}

/** What the sink writes to. */
export interface LogSinkDeps {
  /** The first choice: the daemon's stdout. Its 'error' events are the sink's to handle. */
  readonly primary: NodeJS.WritableStream;
  /** Absolute path of the fallback file. */
  readonly file: string;
  /** Turns a JSON line into what the primary shows (`--pretty`); the file always gets JSON. */
  readonly format?: (jsonLine: string) => string;
  readonly now: () => number;
  /** Told once, right after the switch, so it can be logged (to the file, by then). */
  readonly onSwitch?: (status: LogSinkStatus) => void;
}

/** A pino destination that moves from stdout to a file when stdout fails. */
export class LogSink {
  private toFile = false;
  private stdoutError: string | undefined;
  private stdoutFailedAtMs: number | undefined;
  private fd: number | undefined;
  private fileBytes = 0;
  private dropped = 0;

  constructor(
    private readonly deps: LogSinkDeps,
    private readonly maxFileBytes = LOG_FILE_MAX_BYTES,
  ) {
    // Without a listener, the stream's 'error' event is an uncaught exception.
    deps.primary.on('error', (err: unknown) => this.primaryFailed(err));
  }

  /** Takes one or more whole JSON lines (pino writes one record per call). */
  write(chunk: string): void {
    if (this.toFile) {
      this.append(chunk);
      return;
    }
    const shown = this.deps.format === undefined ? chunk : formatLines(chunk, this.deps.format);
    // The callback hears of the failure of this very write: its line goes to the file instead of being lost.
    this.deps.primary.write(shown, (err?: Error | null) => {
      if (err !== undefined && err !== null) this.primaryFailed(err, chunk);
    });
  }

  /** Where the log goes; undefined while stdout takes it and nothing was dropped. */
  status(): LogSinkStatus | undefined {
    if (!this.toFile && this.dropped === 0) return undefined;
    return {
      destination: this.toFile ? 'file' : 'stdout',
      file: this.deps.file,
      ...(this.stdoutError === undefined ? {} : { stdoutError: this.stdoutError, stdoutFailedAtMs: this.stdoutFailedAtMs }),
      dropped: this.dropped,
    };
  }

  /** Closes the file, if one is open. */
  close(): void {
    this.closeQuietly();
  }

  private closeQuietly(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // EIO on close: the lines written are as lost or kept as they are; nothing to add.
    }
  }

  /** Stdout failed, on writing `line` (kept in the file) or in an 'error' event. */
  private primaryFailed(err: unknown, line?: string): void {
    if (this.toFile) {
      if (line !== undefined) this.append(line);
      return;
    }
    this.toFile = true;
    this.stdoutError = describeError(err);
    this.stdoutFailedAtMs = this.deps.now();
    if (line !== undefined) this.append(line);
    this.deps.onSwitch?.(this.status() as LogSinkStatus);
  }

  private append(chunk: string): void {
    try {
      if (this.fd !== undefined && this.fileBytes >= this.maxFileBytes) this.rotate();
      if (this.fd === undefined) {
        this.fd = openSync(this.deps.file, 'a', 0o600);
        this.fileBytes = fstatSync(this.fd).size;
      }
      this.fileBytes += writeSync(this.fd, chunk);
    } catch {
      // A full or failing disk: counted in status. Logging the failure would only fail the same way.
      // The next line opens the file again, so logging resumes once the disk takes writes.
      this.dropped++;
      this.closeQuietly();
    }
  }

  private rotate(): void {
    this.closeQuietly();
    renameSync(this.deps.file, `${this.deps.file}.1`);
  }
}

function formatLines(chunk: string, format: (line: string) => string): string {
  return chunk
    .split('\n')
    .map((line) => (line === '' ? line : format(line)))
    .join('\n');
}
