/**
 * Where a node's home is, and what lives in it.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configPath } from '../config/file.js';

/** The home: `--home`, else $WIZARD_HOME, else ~/.wizard. */
export function resolveHome(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = option ?? env.WIZARD_HOME ?? path.join(os.homedir(), '.wizard');
  return path.resolve(chosen);
}

/** The certificates dir in a home. */
export function certsDir(home: string): string {
  return path.join(home, 'certs');
}

/** The index database in a home. */
export function indexPath(home: string): string {
  return path.join(home, 'index.db');
}

/** True once `wizard init` has written the home. */
export function isInitialised(home: string): boolean {
  return existsSync(configPath(home));
}
