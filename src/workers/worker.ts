/**
 * Worker thread entry: runs jobs posted by pool.ts, one at a time, and posts
 * back the result or the error (as code + message, since errors do not clone with their class).
 */
import { parentPort } from 'node:worker_threads';
import { describeError } from '../core/errors.js';
import { runJob, type JobKind, type Jobs } from './jobs.js';

/** A job as posted to a worker. */
export interface JobRequest {
  readonly kind: JobKind;
  readonly args: Jobs[JobKind]['args'];
}

/** What a worker posts back. */
export type JobReply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly code: string; readonly message: string };

parentPort?.on('message', (req: JobRequest) => {
  let reply: JobReply;
  try {
    reply = { ok: true, result: runJob(req.kind, req.args) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    reply = { ok: false, code: typeof code === 'string' ? code : 'INTERNAL', message: describeError(err) };
  }
  parentPort?.postMessage(reply);
});
