/**
 * Where a node's home is, and what lives in it.
 */
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configPath } from '../config/file.js';
import { UsageError } from '../core/errors.js';

/**
 * The home: `--home`, else $WIZARD_HOME, else ~/.wizard. Throws a UsageError
 * when that path (or a dir above it) is a file: every command would otherwise
 * fail on its first mkdir or open there with an errno line that does not say
 * which path is wrong.
 */
export function resolveHome(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = option ?? env.WIZARD_HOME ?? path.join(os.homedir(), '.wizard');
  const home = path.resolve(chosen);
  const file = fileInTheWay(home);
  if (file !== undefined) {
    const what = file === home ? `the Wizard home ${home} is a file` : `the Wizard home ${home} lies below ${file}, which is a file`;
    throw new UsageError(`${what}, not a directory; pass --home (or set WIZARD_HOME to) a directory, which is created if it does not exist`);
  }
  return home;
}

/** `dir` itself or the nearest of its parents that exists and is not a directory; undefined when none is (a missing home is created). */
function fileInTheWay(dir: string): string | undefined {
  for (let p = dir; ; p = path.dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Missing: look above. Anything else (EACCES) is for the command to meet and report.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && p !== path.dirname(p)) continue;
      return undefined;
    }
    return isDir ? undefined : p;
  }
}

/** The certificates dir in a home. */
export function certsDir(home: string): string {
  return path.join(home, 'certs');
}

/** The daemon's log file in a home: where log lines go once stdout stops taking them (see LogSink). */
export function logFilePath(home: string): string {
  return path.join(home, 'daemon.log');
}

/** The index database in a home. */
export function indexPath(home: string): string {
  return path.join(home, 'index.db');
}

/** True once `wizard init` has written the home. */
export function isInitialised(home: string): boolean {
  return existsSync(configPath(home));
}
