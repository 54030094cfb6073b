/**
 * Our requests for small files on one link, gathered into `files-request`s
 * (PROTOCOL.md section 8): a burst of small files cost one request, one
 * answer, and their encoding, decoding and scheduling each, on both sides.
 * Whatever asks for a file's first bytes (offset 0, at most
 * LIMITS.maxBatchFileBytes: a small file whole) before the event loop's next
 * turn goes together, per folder, in batches of at most BATCH_FILES files
 * and BATCH_BYTES. A batch of one goes as a plain `request`, as before.
 *
 * The answer must name, in order, exactly the paths asked: anything else is
 * a protocol violation, and the link closes. Each file's bytes are only
 * handed to its asker; whether they are the content asked for is the
 * asker's check (the hash, fetch.ts), as for a `request`.
 */
import { WizardError } from '../core/errors.js';
import { LIMITS, type FileAsk, type FilesMessage } from '../protocol/messages.js';

/**
 * Most files we ask for in one files-request (the protocol allows
 * LIMITS.maxFilesPerRequest): the transfer slots keep about 64 small files in
 * flight (transfer-slots.ts), and in batches of 64 the peer read all of them
 * before sending any, and we wrote none until all were here: one batch at a
 * time, SMALL 27 s where it was 17 s. In batches of 16 (a shared slot's worth),
 * four are in flight and both sides work at once.
 */
export const BATCH_FILES = 16;
/** Most bytes we ask for in one files-request: a shared slot's worth too (the protocol allows LIMITS.maxBatchBytes). */
export const BATCH_BYTES = 1024 * 1024;

/** A request a batch may carry: the first `length` bytes of a file. */
export interface SmallAsk extends FileAsk {
  readonly folder: string;
}

/** How batches go out, and what a bad answer does. */
export interface FileBatchesDeps {
  /** Sends one file as a plain `request` (offset 0). */
  readonly one: (ask: SmallAsk) => Promise<Buffer>;
  /** Sends a `files-request` and resolves with its answer (an `error` for the whole request rejects). */
  readonly many: (folder: string, files: readonly FileAsk[]) => Promise<FilesMessage>;
  /** The answer broke the protocol: close the link with this reason. */
  readonly violation: (reason: string) => void;
  /** Runs the flush after what is asked now has had its turn (setImmediate by default). */
  readonly defer?: (flush: () => void) => void;
}

interface Waiting {
  readonly ask: SmallAsk;
  readonly resolve: (data: Buffer) => void;
  readonly reject: (err: Error) => void;
}

/** Whether a request may go in a batch: a small file's bytes from its start. */
export function isBatchable(req: { offset: number; length: number }): boolean {
  return req.offset === 0 && req.length <= LIMITS.maxBatchFileBytes;
}

/** One link's small-file requests, batched. */
export class FileBatches {
  private waiting: Waiting[] = [];
  private flushDue = false;

  constructor(private readonly deps: FileBatchesDeps) {}

  /** The first `ask.length` bytes of `ask.path` (shorter only at end of file), in a batch with others asked now. */
  ask(ask: SmallAsk): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ask, resolve, reject });
      if (this.flushDue) return;
      this.flushDue = true;
      (this.deps.defer ?? ((flush) => void setImmediate(flush)))(() => this.flush());
    });
  }

  /** Sends what waits, in batches. */
  flush(): void {
    this.flushDue = false;
    for (const batch of batches(this.waiting.splice(0))) {
      if (batch.length === 1) {
        const w = batch[0] as Waiting;
        this.deps.one(w.ask).then(w.resolve, w.reject);
      } else void this.send(batch);
    }
  }

  private async send(batch: readonly Waiting[]): Promise<void> {
    const folder = (batch[0] as Waiting).ask.folder;
    let answer: FilesMessage;
    try {
      answer = await this.deps.many(
        folder,
        batch.map((w) => ({ path: w.ask.path, hash: w.ask.hash, length: w.ask.length })),
      );
    } catch (err) {
      for (const w of batch) w.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const problem = mismatch(batch, answer);
    if (problem !== undefined) {
      const err = new WizardError('PROTOCOL', `peer answered a files-request wrongly: ${problem}`);
      this.deps.violation(`protocol error: files answer ${problem}`);
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => {
      const file = answer.files[i] as FilesMessage['files'][number];
      if ('data' in file) {
        if (file.data.byteLength > w.ask.length) w.reject(new WizardError('HASH_MISMATCH', `${w.ask.path}: peer sent ${file.data.byteLength} bytes, asked for ${w.ask.length}`));
        else w.resolve(Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength));
      } else {
        w.reject(new WizardError(file.code === 'io' ? 'INTERNAL' : 'CHANGED', `${w.ask.path}: ${file.message}`));
      }
    });
  }
}

/** Why `answer` does not answer `batch` (another count, another path at a place), or undefined when it does. */
function mismatch(batch: readonly Waiting[], answer: FilesMessage): string | undefined {
  if (answer.files.length !== batch.length) return `has ${answer.files.length} files for ${batch.length} asked`;
  for (const [i, w] of batch.entries()) {
    const got = (answer.files[i] as FilesMessage['files'][number]).path;
    // Paths arrive in NFC, the protocol's one normalisation.
    if (got !== w.ask.path.normalize('NFC')) return `names a path that was not asked for at place ${i}`;
  }
  return undefined;
}

/** Splits asks into batches of one folder, no path twice, within the protocol's limits. */
function batches(all: readonly Waiting[]): Waiting[][] {
  const byFolder = new Map<string, Waiting[]>();
  for (const w of all) {
    const list = byFolder.get(w.ask.folder);
    if (list === undefined) byFolder.set(w.ask.folder, [w]);
    else list.push(w);
  }
  const out: Waiting[][] = [];
  for (const list of byFolder.values()) {
    let batch: Waiting[] = [];
    let bytes = 0;
    let paths = new Set<string>();
    for (const w of list) {
      const full = batch.length >= BATCH_FILES || bytes + w.ask.length > BATCH_BYTES || paths.has(w.ask.path);
      if (batch.length > 0 && full) {
        out.push(batch);
        batch = [];
        bytes = 0;
        paths = new Set();
      }
      batch.push(w);
      bytes += w.ask.length;
      paths.add(w.ask.path);
    }
    if (batch.length > 0) out.push(batch);
  }
  return out;
}
