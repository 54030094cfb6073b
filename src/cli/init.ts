/**
 * `wizard init`: writes a node's config and certificates into its home.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCa, issueNodeCert, nodeIdOf } from '../certs/ca.js';
import { readCa, writeCa, writeCaCert, writeNodeCert } from '../certs/store.js';
import { configPath, ignorePath, parseOptionsFor, writeConfigText } from '../config/file.js';
import { parseConfig, renderNewConfig, type FolderConfig } from '../config/schema.js';
import { UsageError } from '../core/errors.js';
import { certsDir, indexPath, isInitialised } from './home.js';

/** What `wizard init` was asked for. */
export interface InitOptions {
  readonly home: string;
  readonly name?: string;
  readonly listen?: string;
  /** `ID=PATH` strings as typed. */
  readonly folders?: readonly string[];
  /** A dir holding ca.crt and ca.key to issue this node's certificate from. */
  readonly ca?: string;
  readonly force?: boolean;
  /** Where relative folder paths start (the shell's working dir). */
  readonly cwd?: string;
  readonly now?: Date;
}

/** The master ignore list of a new home. */
export const IGNORE_TEMPLATE = `# Paths Wizard never syncs, in every folder (gitignore syntax).
# A folder can add its own in a .wizardignore file at its root.
# Changes here apply without a restart.
`;

/** Default folder of a new node: ~/Wizard, shared under the ID 'default'. */
export const DEFAULT_FOLDER = 'default=~/Wizard';

/** Initialises `opts.home` and returns the new node ID. */
export function initHome(opts: InitOptions): string {
  const { home } = opts;
  if (isInitialised(home) && opts.force !== true) {
    throw new UsageError(`${home} is already initialised; pass --force to overwrite it (this gives the node a new ID)`);
  }
  const name = opts.name ?? os.hostname().slice(0, 64);
  const listen = opts.listen ?? '0.0.0.0:7842';
  const folders = (opts.folders && opts.folders.length > 0 ? opts.folders : [DEFAULT_FOLDER]).map((f) => parseFolderArg(f, opts.cwd));
  const text = renderNewConfig({ name, listen, folders });
  // Validate everything before writing anything, so a typo leaves no half-made home behind.
  parseConfig(text, configPath(home), parseOptionsFor(home, { homeDir: os.homedir() }));

  const now = opts.now ?? new Date();
  const ca = opts.ca !== undefined ? readCa(opts.ca) : createCa(`Wizard CA (${name})`, now);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const certs = certsDir(home);
  if (opts.force === true) {
    rmSync(certs, { recursive: true, force: true });
    // A new identity makes the old index meaningless to peers.
    rmSync(indexPath(home), { force: true });
    rmSync(`${indexPath(home)}-wal`, { force: true });
    rmSync(`${indexPath(home)}-shm`, { force: true });
  }
  // With --ca only the CA certificate is copied: the CA's private key stays where the user keeps it.
  if (opts.ca !== undefined) writeCaCert(certs, ca.certPem);
  else writeCa(certs, ca);
  const node = issueNodeCert(ca, name, now);
  writeNodeCert(certs, node);
  writeConfigText(home, text);
  if (!existsSync(ignorePath(home))) writeFileSync(ignorePath(home), IGNORE_TEMPLATE, { mode: 0o600 });
  return nodeIdOf(node.certPem);
}

/** Parses `ID=PATH`; PATH as `folderPathArg` reads it. */
export function parseFolderArg(arg: string, cwd = process.cwd()): FolderConfig {
  const eq = arg.indexOf('=');
  if (eq <= 0 || eq === arg.length - 1) throw new UsageError(`--folder takes ID=PATH, got '${arg}'`);
  return { id: arg.slice(0, eq), path: folderPathArg(arg.slice(eq + 1), cwd), shareWith: [], mode: 'send-receive' };
}

/**
 * A folder path as typed on the command line, as the config should hold it:
 * `~` and `~/...` stay as they are (the config reads them as the home, as the
 * shell would have, and a quoted '~' never reached the shell), any other
 * relative path is made absolute from `cwd`. `~user` is refused: it names
 * another user's home, which the config cannot spell.
 */
export function folderPathArg(raw: string, cwd: string): string {
  if (raw === '~' || raw.startsWith('~/')) return raw;
  if (raw.startsWith('~')) throw new UsageError(`cannot use '${raw}' as a folder path: give the full path, or '~/...' for your own home`);
  return path.resolve(cwd, raw);
}
