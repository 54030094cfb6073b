/**
 * The `wizard` command: parses arguments, runs one command, and exits with
 * its code. The only file that calls process.exit. Errors reach the user as
 * one line; the detail is in the daemon's log.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { nodeIdOf } from './certs/ca.js';
import { certsDir } from './cli/home.js';
import { homeOf } from './cli/io.js';
import { registerTrash } from './cli/trash.js';
import { registerConflicts } from './cli/conflicts.js';
import { registerConfigCommands } from './cli/config-commands.js';
import { registerEnrolCommands } from './cli/enrol-commands.js';
import { registerFolderCommands } from './cli/folder-commands.js';
import { registerStop } from './cli/stop.js';
import { registerGui } from './cli/gui-command.js';
import { initHome } from './cli/init.js';
import { runDaemon } from './cli/daemon.js';
import { pair } from './cli/pair.js';
import { printable } from './cli/format.js';
import { registerStatus, type StatusIo } from './cli/status-command.js';
import { describeError, WizardError } from './core/errors.js';
import { prettyLine } from './core/pretty.js';
import { controlRequest } from './status/control.js';

/** Exit codes: 0 ok, 1 the operation failed, 2 usage or config error. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/**
 * Stdout and stderr, whose reader may go away: `wizard status --watch | head -3`
 * closes the pipe after three lines. The next write fails with EPIPE, which
 * as an unhandled 'error' event ended the command with a stack trace. Now
 * nothing more is written there, the live view stops, and the command ends
 * with its own exit code: 0 when it did what it was asked, as the reader
 * having had enough is no failure of the command (and a `set -o pipefail`
 * script stays quiet), where dying of SIGPIPE would give 141.
 */
interface Outputs {
  readonly out: (line: string) => void;
  readonly write: (text: string) => void;
  readonly say: (line: string) => void;
  /** Aborted once stdout fails; its reason is the error. */
  readonly stdoutGone: AbortSignal;
  /** Stdout carries the daemon's log, whose sink handles its failure (see LogSink). */
  readonly stdoutIsLog: () => void;
  /** Once what was written to stdout is out: a stdout failure other than its reader going away (a full disk under `> file`), if any. */
  readonly lostOutput: () => Promise<unknown>;
}

function guardOutputs(): Outputs {
  const stdoutGone = new AbortController();
  let stderrGone = false;
  let isLog = false;
  process.stdout.on('error', (err: unknown) => stdoutGone.abort(err));
  process.stderr.on('error', () => (stderrGone = true));
  const write = (text: string) => {
    if (!stdoutGone.signal.aborted) process.stdout.write(text);
  };
  return {
    out: (line) => write(`${line}\n`),
    write,
    say: (line) => {
      if (!stderrGone) process.stderr.write(`${line}\n`);
    },
    stdoutGone: stdoutGone.signal,
    stdoutIsLog: () => (isLog = true),
    lostOutput: async () => {
      // A write's failure is reported after the write returns: an empty write's callback comes after it.
      if (!stdoutGone.signal.aborted) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
      const err: unknown = stdoutGone.signal.reason;
      return stdoutGone.signal.aborted && !isLog && (err as NodeJS.ErrnoException).code !== 'EPIPE' ? err : undefined;
    },
  };
}

/** The version in package.json beside dist/ (the clone's, or the installed package's). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function buildProgram(setExit: (code: number) => void, outputs: Outputs): Command {
  const { out } = outputs;
  const program = new Command('wizard')
    .description('Keeps folders identical across your machines, in real time, over mutually authenticated TLS.')
    .addOption(new Option('--home <dir>', 'node home (default: $WIZARD_HOME, then ~/.wizard)'))
    .version(packageVersion(), '-V, --version', 'print the version of Wizard')
    .showSuggestionAfterError()
    .exitOverride();

  program
    .command('init')
    .description('create a node: config, certificates and (without --ca) a new CA')
    .option('--name <name>', 'this node name as peers see it (default: host name)')
    .option('--listen <host:port>', 'address to accept peers on', '0.0.0.0:7842')
    .option('--folder <id=path>', 'a folder to sync (repeatable; default: default=~/Wizard)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--ca <dir>', 'issue this node certificate from DIR/ca.crt and DIR/ca.key instead of creating a CA')
    .option('--force', 'overwrite an existing home (the node gets a new ID)')
    .option('--json', 'print the result as JSON')
    .action((opts: { name?: string; listen: string; folder: string[]; ca?: string; force?: boolean; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const id = initHome({ home, name: opts.name, listen: opts.listen, folders: opts.folder, ca: opts.ca, force: opts.force, cwd: process.cwd() });
      if (opts.json === true) out(JSON.stringify({ id, home }));
      else {
        out(`Initialised ${home}`);
        out(`Node ID: ${id}`);
      }
    });

  program
    .command('start')
    .description('run the daemon in the foreground (creates the home on first run); logs are JSON lines on stdout')
    .option('--pretty', 'human-readable log lines when stdout is a terminal')
    .action(async (opts: { pretty?: boolean }, cmd: Command) => {
      // JSON stays the format for pipes and journald, where lines are parsed, not read.
      const pretty = opts.pretty === true && process.stdout.isTTY;
      outputs.stdoutIsLog();
      const formatLog = pretty ? (line: string) => prettyLine(line, true) : undefined;
      setExit(await runDaemon(homeOf(cmd), { say: outputs.say, logTo: process.stdout, ...(formatLog === undefined ? {} : { formatLog }) }));
    });

  program
    .command('pair')
    .description('pair with a running node signed by the same CA, sharing the folders both have (or those --share names)')
    .argument('<host[:port]|name>', "the peer to pair with (default port 7842), or the name or short ID of a node this node's daemon saw on the LAN")
    .option('--share <id>', 'share only this folder (repeatable; default: every folder whose ID both nodes have)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--json', 'print the result as JSON')
    .action(async (target: string, opts: { share: string[]; json?: boolean }, cmd: Command) => {
      const result = await pair(homeOf(cmd), target, opts.share);
      if (opts.json === true) out(JSON.stringify(result));
      else {
        if (result.awaitingApproval === true) {
          out(`Pairing request sent to ${result.address} (${result.id}); it keeps pairing requests for a person (trust: allowlist).`);
          out(`Run there: wizard peer accept ${(result.thisNode ?? '').slice(0, 8)}`);
          out(`Offered from here: ${result.shared.map(printable).join(', ') || 'no folder'}; it shares those it has once accepted.`);
          if (!result.daemonNotified) out("The local daemon is not running; the peer is used from the next 'wizard start'.");
          return;
        }
        out(`Paired with ${printable(result.name)} (${result.id}) at ${result.address}`);
        if (result.shared.length > 0) out(`Shared on both nodes: ${result.shared.map(printable).join(', ')}`);
        else out(`No folder is shared: the two nodes have no folder ID in common${opts.share.length > 0 ? ' among those given' : ''}. Share one with 'wizard folder share ID ${result.id.slice(0, 8)}' here and the same for this node there.`);
        if (!result.daemonNotified) out("The local daemon is not running; the peer is used from the next 'wizard start'.");
      }
    });

  program
    .command('resume')
    .description('apply the deletions the deletion budget holds, local and from peers')
    .argument('<folder>', 'the folder ID')
    .option('--json', 'print the result as JSON')
    .action(async (folder: string, opts: { json?: boolean }, cmd: Command) => {
      const result = (await controlRequest(homeOf(cmd), { cmd: 'resume', folder })) as { folder: string; released: number };
      if (opts.json === true) out(JSON.stringify(result));
      else out(`Folder ${printable(folder)}: ${result.released} held deletions go now: local ones to the peers, the peers' ones here (deleted files go to the trash).`);
    });

  program
    .command('id')
    .description("print this node's ID")
    .option('--json', 'print the result as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const file = path.join(certsDir(homeOf(cmd)), 'node.crt');
      let pem: string;
      try {
        pem = readFileSync(file, 'utf8');
      } catch {
        throw new WizardError('CONFIG', `no node certificate at ${file}; run 'wizard init' first`);
      }
      const id = nodeIdOf(pem);
      out(opts.json === true ? JSON.stringify({ id }) : id);
    });

  const io: StatusIo = {
    out,
    setExit,
    cwd: process.cwd(),
    stopSignal: () => {
      // Only the live view traps Ctrl-C (to restore the cursor); other commands keep the default of dying at once.
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      return AbortSignal.any([stop.signal, outputs.stdoutGone]);
    },
    view: { write: outputs.write, isTty: process.stdout.isTTY, columns: () => process.stdout.columns || 80, rows: () => process.stdout.rows || 24 },
  };
  registerStatus(program, io);
  registerTrash(program, io);
  registerConflicts(program, io);
  registerConfigCommands(program, io);
  registerEnrolCommands(program, io);
  registerFolderCommands(program, io);
  registerStop(program, io);
  registerGui(program, io);
  return program;
}

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const outputs = guardOutputs();
  const program = buildProgram((c) => (code = c), outputs);
  try {
    await program.parseAsync(argv);
    const lost = await outputs.lostOutput();
    if (lost !== undefined) {
      outputs.say(`wizard: cannot write the output: ${describeError(lost)}`);
      return code === 0 ? EXIT_FAILURE : code;
    }
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help, for --help and --version).
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    outputs.say(`wizard: ${describeError(err)}`);
    if (err instanceof WizardError && (err.code === 'USAGE' || err.code === 'CONFIG')) return EXIT_USAGE;
    return EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv);
// Handles left open by a finished command (a half-open socket, a watcher thread) must not keep it alive.
setTimeout(() => process.exit(), 100).unref();
