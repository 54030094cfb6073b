/**
 * The peer's requests we answer on one session: at most `max` in flight
 * (more is a protocol violation: a peer may not make us queue without
 * bound), each answer admitted by the writer's budget of answer bytes
 * before it is made, so a peer that asks and never reads cannot grow our
 * memory (message-writer.ts). A failed answer goes back as an `error` with
 * its wire code. Its own module because serving is one job apart from the
 * rest of a session's conversation.
 */
import { describeError } from '../core/errors.js';
import { blockBodies } from '../protocol/block-bodies.js';
import { LIMITS, type Message } from '../protocol/messages.js';
import { truncateChars } from '../protocol/fields.js';
import type { MessageWriter } from './message-writer.js';
import type { Lane } from './scheduler.js';

/** What serving needs from its session. */
export interface ServedRequestsDeps {
  /** Most of the peer's requests in flight at once. */
  readonly max: number;
  readonly writer: Pick<MessageWriter, 'admit' | 'settle'>;
  /** Sends an answer unless the session has ended. */
  readonly send: (msg: Message, lane?: Lane, stream?: string) => void;
  /** The peer broke the protocol: the session closes with this reason. */
  readonly violation: (reason: string) => void;
  /** Where an answer's block goes once it is framed (or dropped); blockBodies by default, which takes back only what it lent. */
  readonly blockDone?: (data: Uint8Array) => void;
}

/** The peer's requests being answered. */
export class ServedRequests {
  private inFlight = 0;

  constructor(private readonly deps: ServedRequestsDeps) {}

  /**
   * Answers request `id` with what `answer` makes, once `bytes` of answer
   * are admitted, in `lane` (and `stream`, for the scheduler's fairness).
   */
  serve(id: number, bytes: number, answer: () => Promise<Message>, lane: Lane, stream?: string): void {
    if (this.inFlight >= this.deps.max) {
      this.deps.violation(`protocol error: more than ${this.deps.max} requests in flight`);
      return;
    }
    this.inFlight++;
    this.deps.writer
      .admit(bytes)
      .then(answer)
      .then(
        (msg) => {
          try {
            this.deps.send(msg, lane, stream);
          } finally {
            // Framed, which copied it, or dropped: nothing reads the block's bytes any more (message-writer.ts).
            if (msg.type === 'response') (this.deps.blockDone ?? ((data) => blockBodies.give(data)))(msg.data);
          }
        },
        (err: unknown) => {
          const wireCode = (err as { wireCode?: 'not-found' | 'changed' | 'io' }).wireCode ?? 'io';
          this.deps.send({ type: 'error', id, code: wireCode, message: truncateChars(describeError(err), LIMITS.maxMessageChars) });
        },
      )
      .finally(() => {
        this.inFlight--;
        this.deps.writer.settle(bytes);
      });
  }
}
