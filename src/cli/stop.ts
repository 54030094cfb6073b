/**
 * `wizard stop`: asks the running daemon of the home to shut down, through
 * the control socket, and waits until its process has ended.
 */
import type { Command } from 'commander';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { WizardError } from '../core/errors.js';
import { controlRequest } from '../status/control.js';
import { type CliIo, homeOf } from './io.js';

/** How long `stop` waits for the daemon to finish (a transfer reaching a safe point, the index closing). */
const STOP_TIMEOUT_MS = 60_000;
/** How often it looks. */
const LOOK_EVERY_MS = 100;

/** Stops the daemon of `home`; resolves once its process has ended. Throws NOT_RUNNING when none runs. */
export async function stopDaemon(home: string, clock: Clock = systemClock): Promise<void> {
  const { pid } = (await controlRequest(home, { cmd: 'stop' })) as { pid?: number };
  const until = clock.now() + STOP_TIMEOUT_MS;
  // Its process, not its socket: the socket closes before the index does.
  while (pid !== undefined && isAlive(pid)) {
    if (clock.now() > until) throw new WizardError('TIMEOUT', `the daemon at ${home} (pid ${pid}) is still shutting down after ${STOP_TIMEOUT_MS / 1000} s; see its log`);
    await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
  }
}

/** Whether process `pid` still exists (signal 0 checks without sending anything). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is another user's, which a pid reused by then could be; ESRCH: gone.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Adds `wizard stop` to the program. */
export function registerStop(program: Command, io: CliIo): void {
  program
    .command('stop')
    .description('stop the running daemon of this home (as Ctrl-C or SIGTERM would), and wait until it has')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      await stopDaemon(home);
      io.out(opts.json === true ? JSON.stringify({ stopped: true, home }) : `Stopped the Wizard daemon of ${home}.`);
    });
}
