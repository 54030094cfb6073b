/**
 * The node's one pool of buffers for whole blocks on the wire (core/block-buffers.ts
 * says why). Receiving, a session's frame decoder takes a block answer's body
 * from it and the download gives it back once written. Serving, the read of a
 * block takes one and gives it back once the answer is framed, and the frame
 * takes one that the scheduler gives back once the socket has written it. One
 * for the process, because a body goes from the session it arrived on to
 * whichever folder asked for it.
 */
import { BlockBuffers } from '../core/block-buffers.js';
import { LIMITS } from './messages.js';

/** The longest `response` frame carrying a whole block: the block, msgpack's few bytes around it and the frame header (response-frame.ts). */
export const BLOCK_BODY_BYTES = LIMITS.maxBlockBytes + 64;

/**
 * Free buffers kept: about as many as are lent at once while a big file moves
 * (a download's 4 blocks in flight and the one being read; a sender's 8 MiB of
 * admitted answers, framed or waiting for the socket). Past that a buffer
 * given back is left to the collector, as before.
 */
const MAX_FREE = 16;

/** Its idle trim must not keep a process alive that has nothing else to do. */
const unrefTimer = {
  setTimer(ms: number, fn: () => void): () => void {
    const t = setTimeout(fn, ms).unref();
    return () => clearTimeout(t);
  },
};

export const blockBodies = new BlockBuffers(BLOCK_BODY_BYTES, MAX_FREE, unrefTimer);
