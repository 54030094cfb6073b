/**
 * `wizard gui [--json]`: prints the URL that logs a browser into the running
 * daemon's web page. The URL carries the token of HOME/gui-token; the page
 * swaps it for a session cookie at once and drops it from the address bar.
 * On a headless server: `ssh -L 7843:127.0.0.1:7843 server`, then open the
 * URL on the local machine.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WizardError } from '../core/errors.js';
import { guiTokenPath } from '../gui/token.js';
import { fetchStatus } from './status.js';
import { type CliIo, homeOf } from './io.js';

/** The login URL of the daemon of `home`. Throws NOT_RUNNING (one line) when no daemon runs. */
export async function guiUrl(home: string): Promise<string> {
  const status = await fetchStatus(home);
  if (status.gui === undefined) throw new WizardError('INTERNAL', "the daemon's web server is not running now; 'wizard status' says why (Services)");
  let token: string;
  try {
    token = readFileSync(guiTokenPath(home), 'utf8').trim();
  } catch (err) {
    throw new WizardError('INTERNAL', `cannot read the web token ${guiTokenPath(home)}: ${(err as Error).message}`, { cause: err });
  }
  return `${status.gui.url}/?token=${encodeURIComponent(token)}`;
}

/** Adds `wizard gui` to the program. */
export function registerGui(program: Command, io: CliIo): void {
  program
    .command('gui')
    .description("print the URL that opens the running daemon's web page (it logs the browser in; keep it to yourself). From another machine: ssh -L PORT:127.0.0.1:PORT this-host, the URL's port on both ends")
    .option('--json', 'print {url}')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const url = await guiUrl(homeOf(cmd));
      // The URL alone, so that `xdg-open "$(wizard gui)"` works; the README says how to reach it from another machine.
      io.out(opts.json === true ? JSON.stringify({ url }) : url);
    });
}
