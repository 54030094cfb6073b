/**
 * `wizard status [--watch] [--why PATH] [--json]`. The live view redraws in
 * place on a terminal (cursor home, each line cleared to its end, the rest of
 * the screen cleared: no flicker) and prints plain frames otherwise; it keeps
 * running while the daemon restarts.
 */
import type { Command } from 'commander';
import { describeError, hasCode } from '../core/errors.js';
import type { StatusSnapshot } from '../status/snapshot.js';
import { type CliIo, configOf, homeOf, wholeNumber } from './io.js';
import { locate } from './locate.js';
import { fetchStatus, fetchWhy, formatStatus, formatWhy, type PreviousSnapshot } from './status.js';

/** Where the live view draws. */
export interface ViewIo {
  readonly write: (text: string) => void;
  readonly isTty: boolean;
  /** Terminal width; lines are cut to it so none wraps and breaks the redraw. */
  readonly columns: () => number;
  /** Terminal height; a frame taller than it would scroll and break the redraw, so it is cut to fit. */
  readonly rows: () => number;
}

const HOME = '\u001b[H';
const CLEAR_LINE_END = '\u001b[K';
const CLEAR_BELOW = '\u001b[J';
const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';

/** One frame of the live view as text for the terminal (or for a pipe). */
export function renderFrame(lines: readonly string[], io: Pick<ViewIo, 'isTty' | 'columns' | 'rows'>, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().slice(11, 19);
  const footer = ['', `Updated ${stamp} UTC. ${io.isTty ? 'Ctrl-C to quit.' : ''}`.trimEnd()];
  if (!io.isTty) return `${[...lines, ...footer].join('\n')}\n\n`;
  const room = Math.max(1, io.rows() - footer.length - 1);
  const body = lines.length <= room ? lines : [...lines.slice(0, room - 1), `… ${lines.length - room + 1} more lines (enlarge the window, or use wizard status)`];
  const all = [...body, ...footer];
  const width = Math.max(20, io.columns());
  return `${HOME}${all.map((l) => `${[...l].slice(0, width).join('')}${CLEAR_LINE_END}`).join('\n')}\n${CLEAR_BELOW}`;
}

/** Runs the live view until `signal` aborts; with `json`, prints one snapshot per line instead. */
export async function watchStatus(home: string, io: ViewIo, opts: { intervalMs: number; json: boolean; signal: AbortSignal }): Promise<void> {
  let prev: PreviousSnapshot | undefined;
  if (io.isTty && !opts.json) io.write(`${HIDE_CURSOR}\u001b[2J`);
  try {
    while (!opts.signal.aborted) {
      const now = Date.now();
      let snapshot: StatusSnapshot | undefined;
      let problem = '';
      try {
        snapshot = await fetchStatus(home);
      } catch (err) {
        if (!hasCode(err, 'NOT_RUNNING') && !hasCode(err, 'TIMEOUT')) throw err;
        problem = `${describeError(err)}; retrying`;
      }
      if (opts.json) io.write(`${JSON.stringify(snapshot ?? { error: problem })}\n`);
      else io.write(renderFrame(snapshot === undefined ? [problem] : formatStatus(snapshot, prev, now), io, now));
      prev = snapshot === undefined ? undefined : { snapshot, atMs: now };
      await sleep(opts.intervalMs, opts.signal);
    }
  } finally {
    if (io.isTty && !opts.json) io.write(SHOW_CURSOR);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** What main.ts gives the status command beyond CliIo: the live view's terminal and its stop signal. */
export interface StatusIo extends CliIo {
  readonly view: ViewIo;
  /** A signal aborted on SIGINT/SIGTERM; asking for it is what installs the handlers. */
  readonly stopSignal: () => AbortSignal;
}

/** Adds `wizard status` to the program. */
export function registerStatus(program: Command, io: StatusIo): void {
  program
    .command('status')
    .description('show what the running daemon is doing')
    .option('--watch', 'keep showing it, updated every second (Ctrl-C to quit)')
    .option('--interval <ms>', 'update interval of --watch', wholeNumber('--interval'), 1000)
    .option('--why <path>', 'explain one path: each peer version, who has the data, what holds it back')
    .option('--folder <id>', 'the folder --why PATH is relative to')
    .option('--json', 'print JSON (one object, or one per update with --watch)')
    .action(async (opts: { watch?: boolean; interval: number; why?: string; folder?: string; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const json = opts.json === true;
      if (opts.why !== undefined) {
        const { folder, rel } = locate(configOf(cmd), opts.why, { folder: opts.folder, cwd: io.cwd });
        const why = await fetchWhy(home, folder.id, rel);
        if (json) io.out(JSON.stringify(why));
        else formatWhy(why).forEach(io.out);
        return;
      }
      if (opts.watch === true) {
        await watchStatus(home, io.view, { intervalMs: Math.max(100, opts.interval), json, signal: io.stopSignal() });
        return;
      }
      const status = await fetchStatus(home);
      if (json) io.out(JSON.stringify(status));
      else formatStatus(status).forEach(io.out);
    });
}
