/**
 * An in-memory peer that serves blocks and block sums of fixed contents, and
 * counts what it sent, for tests of the download path without a network.
 */
import { blockCount, groupDigests, signatureOf } from '../../src/delta/signature.js';
import type { SumsSource } from '../../src/sync/pull/delta-plan.js';
import type { BlockSource } from '../../src/sync/pull/fetch.js';

/** A fake peer and its counters. */
export interface FakePeer {
  readonly readBlock: BlockSource;
  readonly readSums: SumsSource;
  /** Content bytes sent in block responses. */
  blockBytes: number;
  /** Block requests answered. */
  blockRequests: number;
  /** Sums requests answered. */
  sumsRequests: number;
  /** When set, block requests fail once this many content bytes have been sent. */
  failAfterBytes?: number;
}

/** A peer serving `served` (path -> content). */
export function fakePeer(served: Record<string, Buffer | string>): FakePeer {
  const content = (p: string) => Buffer.from(served[p] ?? '');
  const peer: FakePeer = {
    blockBytes: 0,
    blockRequests: 0,
    sumsRequests: 0,
    readBlock: (_peer, req) => {
      if (peer.failAfterBytes !== undefined && peer.blockBytes >= peer.failAfterBytes) return Promise.reject(new Error('link cut'));
      const data = content(req.path).subarray(req.offset, req.offset + req.length);
      peer.blockBytes += data.length;
      peer.blockRequests++;
      return Promise.resolve(Buffer.from(data));
    },
    readSums: (_peer, req) => {
      const data = content(req.path);
      const end = Math.min(blockCount(data.length, req.blockSize), req.first + req.count);
      const sig = signatureOf(data.subarray(req.first * req.blockSize, end * req.blockSize), req.blockSize);
      peer.sumsRequests++;
      const base = { fileSize: data.length, blockSize: req.blockSize, first: req.first, group: req.group };
      if (req.group > 1) return Promise.resolve({ ...base, weak: Buffer.alloc(0), strong: Buffer.from(groupDigests(sig.strong, req.group)) });
      const weak = Buffer.alloc(sig.weak.length * 4);
      sig.weak.forEach((w, i) => weak.writeUInt32BE(w, i * 4));
      return Promise.resolve({ ...base, weak, strong: Buffer.from(sig.strong) });
    },
  };
  return peer;
}
