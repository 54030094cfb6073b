/**
 * Writing a small file so that readers see the old one or the new one, never
 * a torn one, and a crash leaves one of the two: keys, certificates, invites,
 * the revocation list.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WizardError, describeError } from './errors.js';

/** Temp file in the same directory, fsync, then rename: readers see the old file or the new one, never a torn one. */
export function writeFileAtomic(file: string, data: string, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    // 'wx' and the mode at creation: the key is never readable by others, not even briefly.
    fd = fs.openSync(tmp, 'wx', mode);
    // The umask may have removed bits from `mode`; chmod sets exactly what was asked.
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new WizardError('CONFIG', `cannot write ${file}: ${describeError(err)}`, { cause: err });
  }
}
