/**
 * Stored block sums (signatures) of our own files, one row per path, tagged
 * with the content hash they describe.
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { Signature } from '../delta/signature.js';

type SumsRow = { hash: string; block_size: number; file_size: number; weak: Buffer; strong: Buffer; leaves: Buffer | null };

/** The `block_sums` table. */
export class BlockSumStore {
  readonly #get: Statement<{ folder: string; path: string }, SumsRow>;
  readonly #put: Statement<{ folder: string; path: string; hash: string; blockSize: number; fileSize: number; weak: Buffer; strong: Buffer; leaves: Buffer | null }>;
  readonly #delete: Statement<{ folder: string; path: string }>;

  constructor(db: Database.Database) {
    this.#get = db.prepare('SELECT hash, block_size, file_size, weak, strong, leaves FROM block_sums WHERE folder = @folder AND path = @path');
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO block_sums (folder, path, hash, block_size, file_size, weak, strong, leaves)
       VALUES (@folder, @path, @hash, @blockSize, @fileSize, @weak, @strong, @leaves)`,
    );
    this.#delete = db.prepare('DELETE FROM block_sums WHERE folder = @folder AND path = @path');
  }

  /** The signature stored for `path` if it describes content `hash`. */
  get(folder: string, path: string, hash: string): Signature | undefined {
    const row = this.#get.get({ folder, path });
    if (row?.hash !== hash) return undefined;
    // Copied into fresh arrays: a Buffer from SQLite need not be 4-byte aligned.
    const weak = new Uint32Array(row.weak.length / 4);
    for (let i = 0; i < weak.length; i++) weak[i] = row.weak.readUInt32LE(i * 4);
    const sig = { blockSize: row.block_size, fileSize: row.file_size, weak, strong: new Uint8Array(row.strong) };
    return row.leaves === null ? sig : { ...sig, leaves: new Uint8Array(row.leaves) };
  }

  /** Records the signature (with its leaf digests, when it has them) of content `hash` at `path`, replacing any older one. */
  put(folder: string, path: string, hash: string, sig: Signature): void {
    const weak = Buffer.alloc(sig.weak.length * 4);
    for (let i = 0; i < sig.weak.length; i++) weak.writeUInt32LE(sig.weak[i] as number, i * 4);
    this.#put.run({ folder, path, hash, blockSize: sig.blockSize, fileSize: sig.fileSize, weak, strong: Buffer.from(sig.strong), leaves: sig.leaves === undefined ? null : Buffer.from(sig.leaves) });
  }

  /** Forgets the signature of `path`. */
  delete(folder: string, path: string): void {
    this.#delete.run({ folder, path });
  }
}
