/**
 * `wizard start`: runs a node in the foreground until SIGINT or SIGTERM.
 */
import os from 'node:os';
import { loadNodeCredentials } from '../certs/store.js';
import { ConfigWatcher, readConfig } from '../config/file.js';
import { systemClock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { createDaemonLogger } from '../core/log.js';
import { IndexStore } from '../index/store.js';
import { WizardNode } from '../node.js';
import { controlSocketPath, serveControl } from '../status/control.js';
import { certsDir, indexPath, isInitialised } from './home.js';
import { initHome } from './init.js';

/** Where `start` writes what a person reads (logs go to stdout as JSON). */
export interface DaemonIo {
  readonly say: (line: string) => void;
  /** Where the JSON log lines go; stdout by default. */
  readonly logDestination?: NodeJS.WritableStream;
}

/**
 * Runs the daemon. Initialises a missing home first (the first `npm start`).
 * Resolves with the exit code once a shutdown signal has been handled.
 */
export async function runDaemon(home: string, io: DaemonIo): Promise<number> {
  const homeDir = os.homedir();
  if (!isInitialised(home)) {
    const id = initHome({ home });
    io.say(`Initialised a new Wizard node in ${home} with a new CA.`);
    io.say(`Node ID: ${id}`);
  }
  const { config } = readConfig(home, { homeDir });
  // Logged from the start, so nothing that goes wrong while starting up vanishes silently.
  const { log, setLevel } = createDaemonLogger(config.log.level, io.logDestination);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
  const credentials = loadNodeCredentials(certsDir(home));
  const store = IndexStore.open(indexPath(home));
  const node = new WizardNode({ home, homeDir, config, credentials, store, clock: systemClock, log, setLogLevel: setLevel });

  const watcher = new ConfigWatcher({
    home,
    homeDir,
    initial: config,
    onChange: (next) => {
      log.info('config changed; applying');
      node.applyConfig(next);
    },
    onError: (err) => {
      log.error({ file: err.file, line: err.line }, `config not applied, the last good one stays in force: ${err.message}`);
      node.reportConfigProblem(err);
    },
    onValid: () => node.reportConfigProblem(undefined),
    onIgnoreChange: () => node.reloadIgnore(),
  });

  // The control socket first: it refuses to start a second daemon on the same home before that one touches anything.
  const control = await serveControl(controlSocketPath(home), (req) => {
    if (req.cmd === 'reload') {
      watcher.reload();
      return Promise.resolve({ reloaded: true });
    }
    if (req.cmd === 'resume') return Promise.resolve({ folder: req.folder, released: node.resume(req.folder) });
    if (req.cmd === 'why') return node.why(req.folder, req.path);
    return Promise.resolve(node.status());
  });
  await node.start();
  watcher.start();

  const status = node.status();
  io.say(`Wizard node '${status.name}' is running.`);
  io.say(`  Node ID: ${status.id}`);
  io.say(`  Listening on ${status.listen}; folders: ${status.folders.map((f) => `${f.id}=${f.path}`).join(', ') || 'none'}`);
  io.say(`  To pair another machine initialised with this CA, run there: wizard pair <this host>:${status.listen.split(':').pop() ?? ''}`);
  io.say(`  To add a machine, copy ${certsDir(home)}/ca.crt and ca.key to it and run: wizard init --ca <that dir>`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'shutting down');
  try {
    watcher.stop();
    await control.close();
    await node.stop();
    store.close();
  } catch (err) {
    log.error({ err }, `error during shutdown: ${describeError(err)}`);
    return 1;
  }
  return 0;
}
