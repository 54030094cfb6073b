/**
 * `wizard gui [--json]`: prints a URL that logs one browser into the running
 * daemon's web page. The URL carries a one-time code the daemon makes for
 * it (gui/login-codes.ts: one use, one minute), never the long-lived token
 * of HOME/gui-token, which stays for scripts and Prometheus. On a headless
 * server: `ssh -L 7843:127.0.0.1:7843 server`, then open the URL on the
 * local machine.
 */
import type { Command } from 'commander';
import { controlRequest } from '../status/control.js';
import { type CliIo, homeOf } from './io.js';

/** A fresh login URL of the daemon of `home`. Throws NOT_RUNNING (one line) when no daemon runs. */
export async function guiUrl(home: string): Promise<string> {
  return ((await controlRequest(home, { cmd: 'gui-login' })) as { url: string }).url;
}

/** Adds `wizard gui` to the program. */
export function registerGui(program: Command, io: CliIo): void {
  program
    .command('gui')
    .description("print a URL that logs a browser into the running daemon's web page (once, within a minute). From another machine: ssh -L PORT:127.0.0.1:PORT this-host, the URL's port on both ends")
    .option('--json', 'print {url}')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const url = await guiUrl(homeOf(cmd));
      // The URL alone, so that `xdg-open "$(wizard gui)"` works; the README says how to reach it from another machine.
      io.out(opts.json === true ? JSON.stringify({ url }) : url);
    });
}
