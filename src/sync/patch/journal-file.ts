/**
 * Where the journals of patches under way live in a folder, and how one is
 * written: to a new file, fsynced with its dir before the patch touches the
 * file it undoes (apply.ts), so a crash at any later moment finds it whole
 * (recover.ts). The layout is journal.ts's.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsync, open as openCallback, rmSync, write } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { WIZARD_DIR } from '../../core/paths.js';
import { realDirs } from '../trash/trash.js';
import { encodeJournal, type Journal } from './journal.js';

/** Where journals of patches under way live, inside a folder root. */
export const JOURNAL_DIR = `${WIZARD_DIR}/journal`;

const writeAt = promisify(write);
const syncFd = promisify(fsync);

/** Writes `journal` to a new file in the folder's journal dir, fsyncs it and the dir; returns its path. */
export async function writeJournal(root: string, journal: Journal): Promise<string> {
  await realDirs(root, JOURNAL_DIR.split('/'));
  const dir = path.join(root, ...JOURNAL_DIR.split('/'));
  const file = path.join(dir, `${randomBytes(8).toString('hex')}.wzj`);
  const bytes = encodeJournal(journal.header, journal.old);
  const fd = await new Promise<number>((resolve, reject) =>
    openCallback(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600, (err, opened) => (err === null ? resolve(opened) : reject(err))),
  );
  try {
    for (let done = 0; done < bytes.length; ) done += (await writeAt(fd, bytes, done, bytes.length - done, done)).bytesWritten;
    await syncFd(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw err;
  }
  closeSync(fd);
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return file;
}
