/**
 * Worker thread entry for wal-checkpointer.ts: a connection of its own to
 * the index, which runs a passive WAL checkpoint each time it is asked and
 * answers with SQLite's counts. It never writes a row.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { describeError } from '../core/errors.js';

/** What the worker is given at start. */
export interface CheckpointWorkerData {
  /** The index database file. */
  readonly file: string;
}

/** The worker's answer to a `checkpoint` message. */
export type CheckpointReply =
  | { readonly ok: true; readonly busy: number; readonly log: number; readonly checkpointed: number }
  | { readonly ok: false; readonly message: string };

/** Opens the worker's connection; the checkpoint's fsyncs follow this connection's `synchronous`. */
function openConnection(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  // As the main connection's (store.ts). Under NORMAL and FULL alike a checkpoint fsyncs the WAL
  // before it copies a frame into the database, and the database before it marks the frames
  // copied; only then may the writer start the WAL over (see wal-checkpointer.ts).
  db.pragma('synchronous = NORMAL');
  return db;
}

const port = parentPort;
if (port !== null) {
  const { file } = workerData as CheckpointWorkerData;
  const db = openConnection(file);
  port.on('message', (message: 'checkpoint' | 'close') => {
    if (message === 'close') {
      db.close();
      port.close();
      return;
    }
    let reply: CheckpointReply;
    try {
      // PASSIVE: copies what no reader still needs, waits for no lock (a busy checkpoint lock answers busy = 1).
      const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      reply = { ok: true, busy: row?.busy ?? 1, log: row?.log ?? -1, checkpointed: row?.checkpointed ?? -1 };
    } catch (err) {
      reply = { ok: false, message: describeError(err) };
    }
    port.postMessage(reply);
  });
}
