/**
 * `wizard start --pretty`: pino's JSON lines turned into one readable line
 * each (time, level, where, message, other fields), without a dependency;
 * the daemon's LogSink applies it to what it writes to stdout.
 * Every string is escaped: log lines carry peer-chosen names and paths.
 */
import { printable } from './printable.js';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, or that are shown in the prefix instead. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'part', 'folder', 'peer']);

/** One JSON log line as a human line; a line that is not JSON is passed through, escaped. */
export function prettyLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return printable(json);
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : '';
  const where = ['part', 'folder', 'peer'].map((k) => rec[k]).filter((v): v is string => typeof v === 'string').map(printable).join('/');
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${printable(k)}=${printable(typeof v === 'string' ? v : JSON.stringify(v) ?? '')}`);
  const name = LEVELS[level] ?? String(level);
  const tag = colour ? `\u001b[${COLOURS[level] ?? '0'}m${name}\u001b[0m` : name;
  const msg = typeof rec.msg === 'string' ? printable(rec.msg) : '';
  return [time, tag, where === '' ? '' : `[${where}]`, msg, ...fields].filter((s) => s !== '').join(' ');
}
