/**
 * `wizard start`: runs a node in the foreground until SIGINT or SIGTERM.
 */
import os from 'node:os';
import { loadNodeCredentials } from '../certs/store.js';
import { configDiff } from '../config/diff.js';
import { ConfigWatcher, materialiseShareListsOnDisk, readConfig } from '../config/file.js';
import { systemClock } from '../core/clock.js';
import { describeError, WizardError } from '../core/errors.js';
import { createDaemonLogger } from '../core/log.js';
import { LogSink } from '../core/log-sink.js';
import { IndexStore } from '../index/store.js';
import { WalCheckpointer } from '../index/wal-checkpointer.js';
import { WizardNode } from '../node.js';
import { type ControlServer, controlSocketPath, serveControl, type ControlHandler, RELOAD_WAIT_MS, type ReloadAnswer } from '../status/control.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { daemonMetrics } from '../gui/lazy-metrics.js';
import { type GuiServer, startGuiServer } from '../gui/server.js';
import { loadOrCreateGuiToken } from '../gui/token.js';
import { guiActions } from '../gui/actions.js';

/** The supervised web server's name in status. */
const GUI_SERVICE = 'web-server';
import { certsDir, indexPath, isInitialised, logFilePath } from './home.js';
import { counted } from './format.js';
import { initHome } from './init.js';

/** Exit code of a daemon stopped by an error a restart cannot fix (scripts/wizard.service does not restart it). */
export const EXIT_FATAL = 3;

/** Where `start` writes what a person reads, and its log. */
export interface DaemonIo {
  readonly say: (line: string) => void;
  /** Where the log lines go while it takes them (stdout); then HOME/daemon.log (see LogSink). */
  readonly logTo: NodeJS.WritableStream;
  /** Turns each JSON log line into what `logTo` shows (`--pretty`); JSON as it is by default. */
  readonly formatLog?: (jsonLine: string) => string;
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
  const read = readConfig(home, { homeDir }).config;
  // Logged from the start, so nothing that goes wrong while starting up vanishes silently.
  const sink = new LogSink({
    primary: io.logTo,
    file: logFilePath(home),
    ...(io.formatLog === undefined ? {} : { format: io.formatLog }),
    now: () => systemClock.now(),
    onSwitch: (s) => log.warn({ err: s.stdoutError, file: s.file }, 'stdout no longer takes log lines (its reader went away?); logging to this file from now on'),
  });
  const { log, setLevel } = createDaemonLogger(read.log.level, sink);
  // A config from before share lists is read as every folder shared with every peer; written out once, it says so.
  const materialised = materialiseShareListsOnDisk(home, { homeDir });
  if (materialised !== undefined) {
    const lists = materialised.folders.map((f) => ({ folder: f.id, shareWith: f.shareWith.map((id) => id.slice(0, 8)) }));
    log.info({ lists }, 'config.yaml had no share lists (written before folders had them): wrote them out, each folder shared with every peer as before; edit them, or use wizard folder share/unshare');
  }
  const config = materialised ?? read;
  let fatal: ((message: string) => void) | undefined;
  let fatalMessage: string | undefined;
  const supervisor = new Supervisor({
    clock: systemClock,
    log: log.child({ part: 'supervisor' }),
    random: Math.random,
    onFatal: (message) => {
      fatalMessage = message;
      fatal?.(message);
    },
  });
  // Nothing is swallowed: an error no service caught is logged, counted in status, and stops the daemon only when fatal.
  process.on('unhandledRejection', (err) => supervisor.processError(err));
  process.on('uncaughtException', (err) => supervisor.processError(err));
  const credentials = loadNodeCredentials(certsDir(home));
  const store = IndexStore.openOrRebuild(indexPath(home), (movedTo, err) => {
    log.error({ err, movedTo }, 'the index database was damaged; moved it aside and rebuilding it by rescanning (differences with peers become conflict copies, never deletions)');
    io.say(`Wizard: the index database was damaged and is being rebuilt from the folders (the old one is at ${movedTo}).`);
  });
  // The WAL's checkpoints run on a thread of their own, not inside the main thread's commits (wal-checkpointer.ts).
  const walCheckpoints = WalCheckpointer.start(store, indexPath(home), {
    onFailure: (err) => log.warn({ err }, `the index's WAL checkpoints are back on the main thread: ${describeError(err)}`),
  });
  const node = new WizardNode({ home, homeDir, config, credentials, store, clock: systemClock, log, setLogLevel: setLevel, supervisor, session: sessionTimingsFromEnv(), lanTimings: lanTimingsFromEnv() });

  let configBroken = false;
  // `wizard stop` may arrive while the daemon is still starting: remembered until the wait below begins.
  let stopAsked = false;
  let stopRequested = () => {
    stopAsked = true;
  };
  const watcher = new ConfigWatcher({
    home,
    homeDir,
    initial: config,
    onChange: (next, previous) => {
      const changes = previous === undefined ? [] : configDiff(previous, next);
      log.info({ changes }, `config changed; applying ${counted(changes.length, 'change')}`);
      const guiMoved = next.gui.listen !== guiListen;
      node.applyConfig(next);
      if (guiMoved) {
        guiListen = next.gui.listen;
        void supervisor.remove(GUI_SERVICE).then(() => supervisor.add(guiService));
      }
    },
    onError: (err) => {
      configBroken = true;
      log.error({ file: err.file, line: err.line }, `config not applied, the last good one stays in force: ${err.message}`);
      node.reportConfigProblem(err);
    },
    onValid: () => {
      // Said once, when the file that was refused reads well again; every good read calls this.
      if (configBroken) log.info('config file is valid again; the error is cleared');
      configBroken = false;
      node.reportConfigProblem(undefined);
    },
    onIgnoreChange: () => node.reloadIgnore(),
    onWatchError: (err) => watchCrash(err),
  });
  let watchCrash: (err: unknown) => void = () => undefined;

  // The control socket first: it refuses to start a second daemon on the same home before that one touches anything.
  const handle: ControlHandler = (req) => {
    if (req.cmd === 'stop') {
      // As SIGTERM: the answer goes out first, then the shutdown closes the socket.
      log.info('stop requested through the control socket');
      stopRequested();
      return Promise.resolve({ stopping: true, pid: process.pid });
    }
    if (req.cmd === 'reload') {
      watcher.reload();
      // Answered once the folders the new config stops (paused, removed, moved) have stopped, so 'wizard
      // folder pause' says "paused" when nothing of the folder runs any more; or, past RELOAD_WAIT_MS (a
      // stop waits for the big file it is hashing), with `stopping`, and the stop goes on.
      return node.foldersSettled(RELOAD_WAIT_MS).then((settled): ReloadAnswer => (settled ? { reloaded: true } : { reloaded: true, stopping: true }));
    }
    if (req.cmd === 'resume') return Promise.resolve({ folder: req.folder, released: node.resume(req.folder) });
    if (req.cmd === 'accept-peer') return Promise.resolve({ id: req.id, shared: node.acceptPairing(req.id) });
    if (req.cmd === 'override' || req.cmd === 'revert') return node.modeAction(req.folder, req.cmd).then((paths) => ({ folder: req.folder, paths }));
    if (req.cmd === 'why') return node.why(req.folder, req.path);
    if (req.cmd === 'invite') return Promise.resolve(node.invite(req));
    if (req.cmd === 'lan-lookup') return Promise.resolve(node.lanLookup(req.name));
    if (req.cmd === 'gui-login') {
      if (gui === undefined) return Promise.reject(new WizardError('INTERNAL', "the daemon's web server is not running now; 'wizard status' says why (Services)"));
      return Promise.resolve({ url: gui.loginUrl() });
    }
    if (req.cmd === 'revoke') {
      // The command edited config.yaml first; the daemon must refuse the node now, not at the file watcher's leisure.
      watcher.reload();
      return Promise.resolve(node.revoke(req.id));
    }
    const logStatus = sink.status();
    return Promise.resolve({ ...node.status(), ...(logStatus === undefined ? {} : { log: logStatus }), ...(gui === undefined ? {} : { gui: { url: gui.url } }) });
  };
  // Served once outside the supervisor: a second daemon on this home must fail to start, not retry.
  let control: ControlServer | undefined = await serveControl(controlSocketPath(home), handle);
  let firstControl: ControlServer | undefined = control;
  await node.start();
  void supervisor.add({
    name: 'control-socket',
    start: async (crash) => {
      control = firstControl ?? (await serveControl(controlSocketPath(home), handle));
      firstControl = undefined;
      control.onError(crash);
    },
    stop: async () => {
      await control?.close();
      control = undefined;
    },
  });
  // The web server (the page and metrics): its token is made once and kept in the home, for a scraper's credentials_file.
  let guiListen = config.gui.listen;
  let gui: GuiServer | undefined;
  const metrics = daemonMetrics(() => node.status());
  const actions = guiActions({ home, homeDir, control: handle });
  const guiService = {
    name: GUI_SERVICE,
    start: async (crash: (err: unknown) => void) => {
      gui = await startGuiServer({ listen: guiListen, token: loadOrCreateGuiToken(home), metrics, actions, log: log.child({ part: 'web' }) });
      gui.onError(crash);
    },
    stop: async () => {
      await gui?.close();
      gui = undefined;
    },
  };
  void supervisor.add(guiService);
  void supervisor.add({
    name: 'config-watcher',
    start: (crash) => {
      watchCrash = crash;
      watcher.start();
    },
    stop: () => watcher.stop(),
  });

  const status = node.status();
  io.say(`Wizard node '${status.name}' is running.`);
  io.say(`  Node ID: ${status.id}`);
  io.say(`  Listening on ${status.listen}; folders: ${status.folders.map((f) => `${f.id}=${f.path}`).join(', ') || 'none'}`);
  io.say(`  To pair another machine initialised with this CA, run there: wizard pair <this host>:${status.listen.split(':').pop() ?? ''}`);
  io.say(`  To add a machine, copy ${certsDir(home)}/ca.crt and ca.key to it and run: wizard init --ca <that dir>`);

  const signal = await new Promise<NodeJS.Signals | 'fatal' | 'stop' | 'launcher gone'>((resolve) => {
    // Kept, not once: a Ctrl-C reaches the launcher's process group and is passed on by it too,
    // and systemd signals every process of the service; a repeat must not kill a clean shutdown.
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
    // Started by bin/wizard.js as its child: when the launcher is gone (killed), nobody waits on this daemon.
    if (process.send !== undefined) {
      if (process.connected) process.once('disconnect', () => resolve('launcher gone'));
      else resolve('launcher gone');
    }
    fatal = () => resolve('fatal');
    if (fatalMessage !== undefined) resolve('fatal');
    stopRequested = () => resolve('stop');
    if (stopAsked) resolve('stop');
  });
  log.info({ signal }, 'shutting down');
  try {
    await node.stop();
    await supervisor.stopAll();
    if (walCheckpoints !== undefined) log.info({ walCheckpoints: walCheckpoints.counts() }, 'index WAL checkpoints since start');
    await walCheckpoints?.close();
    store.close();
  } catch (err) {
    log.error({ err }, `error during shutdown: ${describeError(err)}`);
    return 1;
  } finally {
    sink.close();
  }
  if (fatalMessage !== undefined) {
    io.say(`wizard: stopped: ${fatalMessage}`);
    // Its own code, so the service manager does not restart into the same error every few seconds.
    return EXIT_FATAL;
  }
  return 0;
}

/** A faster interface poll, for tests that change a machine's address and must see it announced in a moment. */
function lanTimingsFromEnv(env: NodeJS.ProcessEnv = process.env): { pollMs?: number } {
  const n = Number(env.WIZARD_LAN_POLL_MS);
  return Number.isInteger(n) && n > 0 ? { pollMs: n } : {};
}

/**
 * Shorter ping and idle timeouts, for tests that cut links silently and must
 * see them detected in seconds rather than the 90 s a real network deserves.
 */
function sessionTimingsFromEnv(env: NodeJS.ProcessEnv = process.env): { pingIntervalMs?: number; idleTimeoutMs?: number } {
  const ms = (name: string) => {
    const n = Number(env[name]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const ping = ms('WIZARD_PING_INTERVAL_MS');
  const idle = ms('WIZARD_IDLE_TIMEOUT_MS');
  return { ...(ping === undefined ? {} : { pingIntervalMs: ping }), ...(idle === undefined ? {} : { idleTimeoutMs: idle }) };
}
