/**
 * The daemon's logger: pino, JSON lines on stdout. Parts log through
 * `log.child({ part })`, so a line says where it came from.
 */
import { pino, type Logger } from 'pino';

/** Creates the root logger. */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
