/**
 * Turns a path as a user types it (relative to the working dir, absolute, or
 * relative to a folder) into a configured folder and a folder-relative path.
 */
import path from 'node:path';
import type { Config, FolderConfig } from '../config/schema.js';
import { UsageError } from '../core/errors.js';

/** A path inside a synced folder. */
export interface Located {
  readonly folder: FolderConfig;
  /** Folder-relative POSIX path. */
  readonly rel: string;
}

/**
 * Finds the folder `input` lies in: first as a filesystem path from `cwd`,
 * then as a path relative to `--folder ID` (or to the only folder there is).
 */
export function locate(config: Config, input: string, opts: { folder?: string; cwd: string }): Located {
  const folders = opts.folder === undefined ? config.folders : config.folders.filter((f) => f.id === opts.folder);
  if (opts.folder !== undefined && folders.length === 0) throw new UsageError(`no folder '${opts.folder}' in the config`);
  const abs = path.resolve(opts.cwd, input);
  for (const folder of folders) {
    const rel = path.relative(folder.path, abs);
    if (rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)) {
      return { folder, rel: rel.split(path.sep).join('/') };
    }
  }
  const only = folders.length === 1 ? folders[0] : undefined;
  if (only !== undefined && !path.isAbsolute(input)) {
    const rel = path.posix.normalize(input.split(path.sep).join('/'));
    if (rel === '..' || rel.startsWith('../') || rel === '.') throw new UsageError(`${input} is not a path inside folder '${only.id}'`);
    return { folder: only, rel };
  }
  throw new UsageError(`${input} is not inside a synced folder; give a path inside one, or --folder ID and a path relative to it`);
}

/** The folders a command applies to: all of them, or the one `--folder` names. */
export function foldersOf(config: Config, id: string | undefined): FolderConfig[] {
  if (id === undefined) return config.folders;
  const found = config.folders.filter((f) => f.id === id);
  if (found.length === 0) throw new UsageError(`no folder '${id}' in the config`);
  return found;
}

/**
 * A shell-style pattern as a test on a folder-relative path: `*` and `?`
 * stay within one path component, `**` crosses them. A pattern without a
 * slash matches the base name at any depth, as in an ignore file.
 */
export function pathPattern(pattern: string): (rel: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${re}$`, 'u');
  const byBase = !pattern.includes('/');
  return (rel) => compiled.test(rel) || (byBase && compiled.test(path.posix.basename(rel)));
}
