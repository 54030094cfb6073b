/**
 * In-memory byte streams for protocol tests (Syncthing's io.Pipe, mutagen's netpipe).
 */
import { Duplex, PassThrough } from 'node:stream';

/** Two connected Duplex ends: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}
