/**
 * The daemon's logger: pino, JSON lines on stdout. Parts log through
 * `log.child({ part })`, so a line says where it came from.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Creates the root logger. */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A root logger whose level can change while the daemon runs, children included. */
export interface LevelledLogger {
  readonly log: Logger;
  readonly setLevel: (level: string) => void;
}

/**
 * A root logger for a long-running daemon. A pino child copies its parent's
 * level when it is made, so setting the root's level later would miss every
 * part's child; instead every logger lets all levels through and one shared
 * hook drops what is below the level in force.
 */
export function createDaemonLogger(level: string, destination: DestinationStream = process.stdout): LevelledLogger {
  let threshold = pino.levels.values[level] ?? pino.levels.values.info ?? 30;
  const log = pino(
    {
      level: 'trace',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method, num) {
          if (num >= threshold) method.apply(this, args);
        },
      },
    },
    destination,
  );
  return {
    log,
    setLevel(next) {
      threshold = pino.levels.values[next] ?? threshold;
    },
  };
}
