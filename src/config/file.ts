/**
 * The config file on disk: read, atomic write, validated edit, and a watcher
 * that hot-reloads it while keeping the last good config when an edit is bad.
 */
import {
  type FSWatcher,
  closeSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { type Clock, systemClock } from '../core/clock.js';
import { ConfigError, describeError } from '../core/errors.js';
import { materialiseShareLists } from './edit.js';
import { type Config, parseConfig } from './schema.js';

const CONFIG_FILE = 'config.yaml';
const IGNORE_FILE = 'ignore';
const DEFAULT_DEBOUNCE_MS = 100;

/** Where a node's config lives: HOME/config.yaml. */
export function configPath(home: string): string {
  return join(home, CONFIG_FILE);
}

/** Where the master ignore list lives: HOME/ignore, next to the config. */
export function ignorePath(home: string): string {
  return join(home, IGNORE_FILE);
}

/** Options shared by every read: `homeDir` is what '~' in folder paths expands to. */
export interface ReadOptions {
  homeDir: string;
}

/**
 * `path` with the symlinks of the part of it that exists resolved, the rest
 * appended: a folder not yet made still resolves through its parents' links.
 */
export function realPathSoFar(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPathSoFar(parent), basename(path));
  }
}

/** What parsing HOME/config.yaml needs: '~', and the home itself, which no folder may hold (its keys would sync). */
export function parseOptionsFor(home: string, opts: ReadOptions): { homeDir: string; home: string; realPath: (path: string) => string } {
  return { homeDir: opts.homeDir, home, realPath: realPathSoFar };
}

/** Reads the raw text; a missing file says how to create one. */
function readText(home: string): string {
  const file = configPath(home);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`no config in ${home}: run 'wizard init --home ${home}' first`, file);
    }
    throw new ConfigError(`cannot read ${file}: ${describeError(err)}`, file);
  }
}

/** Reads and validates HOME/config.yaml; throws ConfigError with `FILE:LINE:` on any problem. */
export function readConfig(home: string, opts: ReadOptions): { config: Config; text: string } {
  const text = readText(home);
  return { config: parseConfig(text, configPath(home), parseOptionsFor(home, opts)), text };
}

/**
 * Replaces HOME/config.yaml atomically with mode 0600: a crash leaves either
 * the old file or the new one, never half of one. The temp name is not
 * `config.yaml`, so a watcher ignores it until the rename.
 */
export function writeConfigText(home: string, text: string): void {
  const file = configPath(home);
  const tmp = join(home, `.${CONFIG_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    // The open mode is filtered by the umask; peers and paths are nobody else's business.
    fchmodSync(fd, 0o600);
    // writeFileSync loops until every byte is written; one write() on a nearly full disk
    // writes what fits and returns a short count, and renaming that would truncate the config.
    writeFileSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    try {
      if (fd !== undefined) closeSync(fd);
    } finally {
      rmSync(tmp, { force: true });
    }
    throw new ConfigError(`cannot write ${file}: ${describeError(err)}`, file);
  }
  syncDir(home);
}

/** Makes the rename itself durable; best effort, as some filesystems refuse fsync on a directory. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // The file content is already durable; only the rename's durability is at stake.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads the config text, applies `edit`, validates the result and only then
 * writes it, so an edit that would break the config never reaches the disk.
 * Returns the new config.
 */
export function editConfig(home: string, edit: (text: string) => string, opts: ReadOptions): Config {
  const next = edit(readText(home));
  const config = parseConfig(next, configPath(home), parseOptionsFor(home, opts));
  writeConfigText(home, next);
  return config;
}

/**
 * Writes out the share lists of a config from before folders had them (see
 * `materialiseShareLists`), once, at daemon start: the file then says what
 * the node does. Returns the config as written, or undefined when there was
 * nothing to write.
 */
export function materialiseShareListsOnDisk(home: string, opts: ReadOptions): Config | undefined {
  const next = materialiseShareLists(readText(home), configPath(home));
  if (next === null) return undefined;
  const config = parseConfig(next, configPath(home), parseOptionsFor(home, opts));
  writeConfigText(home, next);
  return config;
}

/** What a ConfigWatcher needs; `onChange` and `onError` should not throw. */
export interface ConfigWatcherDeps {
  home: string;
  homeDir: string;
  /** Called with each valid config that differs in value from the last good one. */
  /** A new valid config; `previous` is the one it replaces (undefined for the first read without `initial`). */
  onChange: (config: Config, previous: Config | undefined) => void;
  /** Called when the file is missing or invalid; the last good config stays in force. */
  onError: (err: ConfigError) => void;
  /** Called after every read that parsed, changed or not: a fixed edit ends an earlier error. */
  onValid?: () => void;
  /** Called (debounced) when the master ignore file next to the config changes. */
  onIgnoreChange?: () => void;
  /** The config the caller already runs with; without it, start() reports the first read through onChange. */
  initial?: Config;
  /** Quiet time after the last file event before re-reading; editors write in several steps. */
  debounceMs?: number;
  clock?: Clock;
  /** Told when the watch itself fails (so the supervisor can restart it); without it the failure is reported as a config problem. */
  onWatchError?: (err: unknown) => void;
}

/**
 * Hot reload of HOME/config.yaml and, through `onIgnoreChange`, of the
 * master ignore list beside it. Watches the directory rather than the file
 * because editors save by writing a new file and renaming it over the old one,
 * which silently ends a watch on the old inode.
 */
export class ConfigWatcher {
  private readonly deps: ConfigWatcherDeps;
  private readonly clock: Clock;
  private readonly debounceMs: number;
  private good: Config | undefined;
  private watcher: FSWatcher | undefined;
  private cancelTimer: (() => void) | undefined;
  private cancelIgnoreTimer: (() => void) | undefined;

  constructor(deps: ConfigWatcherDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? systemClock;
    this.debounceMs = deps.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.good = deps.initial;
  }

  /** The config in force: the last one that parsed, or undefined if none has yet. */
  get lastGood(): Config | undefined {
    return this.good;
  }

  /** Starts watching, then reads once so an edit made before the watch began is not missed. */
  start(): void {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.deps.home, { persistent: false }, (_event, name) => {
        // Some platforms omit the name; re-reading an unchanged file costs little.
        if (name === null || name === CONFIG_FILE) this.schedule();
        if (name === null || name === IGNORE_FILE) this.scheduleIgnore();
      });
      this.watcher.on('error', (err) => {
        this.stop();
        if (this.deps.onWatchError !== undefined) {
          this.deps.onWatchError(err);
          return;
        }
        this.report(new ConfigError(`stopped watching ${this.deps.home} (${describeError(err)}); config edits apply after a restart`));
      });
    } catch (err) {
      if (this.deps.onWatchError !== undefined) {
        this.deps.onWatchError(err);
        return;
      }
      this.report(new ConfigError(`cannot watch ${this.deps.home} (${describeError(err)}); config edits apply after a restart`));
    }
    this.reload();
  }

  /** Re-reads the file now (for example after `wizard pair` edited it); returns the config in force. */
  reload(): Config | undefined {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    let next: Config;
    try {
      next = readConfig(this.deps.home, { homeDir: this.deps.homeDir }).config;
    } catch (err) {
      this.report(err instanceof ConfigError ? err : new ConfigError(describeError(err)));
      return this.good;
    }
    this.deps.onValid?.();
    if (this.good !== undefined && sameConfig(this.good, next)) return this.good;
    const previous = this.good;
    this.good = next;
    try {
      this.deps.onChange(next, previous);
    } catch (err) {
      this.report(new ConfigError(`applying the new config failed: ${describeError(err)}`));
    }
    return this.good;
  }

  /** Stops watching; a pending debounced read is dropped. Safe to call twice. */
  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.cancelIgnoreTimer?.();
    this.cancelIgnoreTimer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private scheduleIgnore(): void {
    const onIgnoreChange = this.deps.onIgnoreChange;
    if (onIgnoreChange === undefined) return;
    this.cancelIgnoreTimer?.();
    this.cancelIgnoreTimer = this.clock.setTimer(this.debounceMs, () => {
      this.cancelIgnoreTimer = undefined;
      try {
        onIgnoreChange();
      } catch (err) {
        this.report(new ConfigError(`applying the new ignore list failed: ${describeError(err)}`, join(this.deps.home, IGNORE_FILE)));
      }
    });
  }

  private schedule(): void {
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(this.debounceMs, () => {
      this.cancelTimer = undefined;
      this.reload();
    });
  }

  private report(err: ConfigError): void {
    try {
      this.deps.onError(err);
    } catch (inner) {
      // Throwing here would escape an fs.watch callback and kill the daemon; a warning keeps both visible.
      process.emitWarning(`config watcher: onError threw (${describeError(inner)}) while reporting: ${err.message}`);
    }
  }
}

/** Configs are plain data built in a fixed key order, so equal values serialize equally. */
function sameConfig(a: Config, b: Config): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
