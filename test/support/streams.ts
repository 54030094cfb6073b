/**
 * In-memory byte streams for protocol tests (Syncthing's io.Pipe, mutagen's netpipe).
 */
import { Duplex, PassThrough } from 'node:stream';

/** Two connected Duplex ends: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const ends: [Duplex, Duplex] = [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
  // Destroying an end (a session does, a second after it closes) aborts the inner streams and the
  // other end with an AbortError. A test's raw end often has no listener of its own, so that would
  // surface as an uncaught exception in whatever test runs a second later.
  for (const stream of [aToB, bToA, ...ends]) stream.on('error', () => {});
  return ends;
}
