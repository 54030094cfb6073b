/**
 * A schema 4 index written by the code before identity v2 (test/index/fixtures/schema4-index.db,
 * made as fixtures/README.md says), placed beside fresh copies of the files it indexed.
 */
import { copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

const FIXTURE = new URL('../index/fixtures/schema4-index.db', import.meta.url);

/** The fixture's files, as the old daemon indexed them (besides a dir `docs` and a link `link` to docs/kept.txt). */
export const KEPT = Buffer.from('kept as it was\n');
export const EDITED = Buffer.from('edited while wizard was down\n');
export const BIG = Buffer.from(Array.from({ length: 2 * 1024 * 1024 + 5 }, (_, i) => (i * 7 + 3) % 256));
/** Their SHA-256s, as the fixture records them (the meaning before identity v2). */
export const OLD = {
  kept: '89b9b73551646cd5e69f236ebe919652b560eacb6ad9523d6123234a5abd48a6',
  big: '612ef3e7d41badcdda7ba523fffd20177201c7dd45b4df7ca363db46dccd2068',
};
export const EDITED_OLD_HASH = 'a432f034b9f2f6f4d67652e77e108929544426b5cf0b5a44147178a1a9025e29';
/** The version every fixture entry has (the old node's short ID and its clock). */
export const OLD_VERSION = { f3c91f8b57efc41c: 1796617176 };

/**
 * Writes the fixture's files into `folder` (folder ID 'shared') and the
 * fixture to `dbFile`, its stat columns pointed at those files (inodes and
 * mtimes cannot travel with a file), plus an entry and a read position of a
 * peer, as if one had sent its index.
 */
export function placeOldIndex(folder: string, dbFile: string): void {
  mkdirSync(path.join(folder, 'docs'), { recursive: true });
  writeFileSync(path.join(folder, 'docs', 'kept.txt'), KEPT);
  writeFileSync(path.join(folder, 'edited.txt'), EDITED);
  writeFileSync(path.join(folder, 'big.bin'), BIG);
  const marker = path.join(folder, '.wizard', 'folder');
  if (!existsSync(marker)) {
    mkdirSync(path.dirname(marker), { recursive: true });
    writeFileSync(marker, 'shared\n');
  }
  copyFileSync(FIXTURE, dbFile);
  const raw = new Database(dbFile);
  try {
    for (const rel of ['docs/kept.txt', 'edited.txt', 'big.bin']) {
      const st = statSync(path.join(folder, rel));
      raw.prepare('UPDATE local SET inode = ?, mtime_ms = ? WHERE folder = ? AND path = ?').run(st.ino, st.mtimeMs, 'shared', rel);
    }
    raw.prepare("INSERT INTO remote VALUES ('shared', 'peer', 'docs/kept.txt', 'file', 15, 0, 420, ?, '', 'aaaaaaaaaaaaaaaa:1', 0, 1)").run(OLD.kept);
    raw.prepare("INSERT INTO peer_state VALUES ('shared', 'peer', '0123456789abcdef', 1)").run();
  } finally {
    raw.close();
  }
}
