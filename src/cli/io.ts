/**
 * What command modules get from main.ts: where to print, the home, the
 * config. Keeps process.* out of the commands, so they stay testable.
 */
import os from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { readConfig } from '../config/file.js';
import type { Config } from '../config/schema.js';
import { hasCode } from '../core/errors.js';
import { controlRequest, RELOAD_WAIT_MS, type ReloadAnswer } from '../status/control.js';
import { resolveHome } from './home.js';

/** Output and context for a command. */
export interface CliIo {
  /** Prints one line on stdout. */
  readonly out: (line: string) => void;
  /** Sets the exit code for a command that finished without throwing. */
  readonly setExit: (code: number) => void;
  readonly cwd: string;
}

/** The home the command runs against (`--home`, $WIZARD_HOME, ~/.wizard). */
export function homeOf(cmd: Command): string {
  return resolveHome(cmd.optsWithGlobals<{ home?: string }>().home);
}

/** The validated config of the command's home. */
export function configOf(cmd: Command): Config {
  return readConfig(homeOf(cmd), { homeDir: os.homedir() }).config;
}

/** Parses a whole non-negative number option; commander hands options over as text. */
export function wholeNumber(what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be a whole number, got '${v}'`);
    return n;
  };
}

/**
 * How long a reload's answer may take: the daemon holds it up to
 * RELOAD_WAIT_MS while the folders the new config stops (paused, removed,
 * moved) finish stopping.
 */
const RELOAD_ANSWER_MS = RELOAD_WAIT_MS + 10_000;

/**
 * Asks the running daemon to re-read its config now. `notified` is false when
 * no daemon runs (it reads the file at start); `stopping` when a folder the
 * new config stops was still finishing its work when the daemon answered.
 */
export async function reloadDaemonReport(home: string): Promise<{ notified: boolean; stopping: boolean }> {
  try {
    const answer = (await controlRequest(home, { cmd: 'reload' }, RELOAD_ANSWER_MS)) as ReloadAnswer;
    return { notified: true, stopping: answer.stopping === true };
  } catch (err) {
    if (hasCode(err, 'NOT_RUNNING')) return { notified: false, stopping: false };
    throw err;
  }
}

/** reloadDaemonReport, for commands that only say whether the daemon applied the edit. */
export async function reloadDaemon(home: string): Promise<boolean> {
  return (await reloadDaemonReport(home)).notified;
}
