/**
 * Our requests to one peer and their answers: each request gets an ID and a
 * timer, at most MAX_ASKED_IN_FLIGHT wait at once (ask-window.ts), and an
 * answer is matched to its request by ID and type. An answer to a request
 * that timed out is late, not hostile, and dropped; an answer of the wrong
 * type is a protocol violation. Its own module because correlating answers
 * is one job apart from the rest of a session's conversation.
 */
import type { Clock } from '../core/clock.js';
import { WizardError } from '../core/errors.js';
import type { ErrorMessage, FilesMessage, Message, ResponseMessage, SumsMessage } from '../protocol/messages.js';
import { AskWindow } from './ask-window.js';

/** An answer to one of our requests. */
export type Answer = ResponseMessage | SumsMessage | FilesMessage;

type Pending = { expects: Answer['type']; resolve: (msg: Answer) => void; reject: (err: Error) => void; cancelTimer: () => void };

/** What the requests need from their session. */
export interface OutgoingRequestsDeps {
  readonly clock: Clock;
  /** How long an answer may take before the request fails with TIMEOUT. */
  readonly timeoutMs: number;
  /** The peer's ID, short, for error lines. */
  readonly peer: string;
  /** Sends a request; throws when it cannot be queued. */
  readonly send: (msg: Message) => void;
  /** The peer broke the protocol: the session closes with this reason. */
  readonly violation: (reason: string) => void;
}

/** Our requests in flight on one session. */
export class OutgoingRequests {
  private readonly pending = new Map<number, Pending>();
  private readonly window = new AskWindow();
  private nextId = 1;

  constructor(private readonly deps: OutgoingRequestsDeps) {}

  /** Sends the request `build` makes with its ID once the window allows, and resolves with its answer of type `expects`. */
  async ask(expects: Answer['type'], what: string, build: (id: number) => Message): Promise<Answer> {
    await this.window.acquire();
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const cancelTimer = this.deps.clock.setTimer(this.deps.timeoutMs, () => {
        this.pending.delete(id);
        this.window.release();
        reject(new WizardError('TIMEOUT', `peer ${this.deps.peer} did not answer a request for ${what} in time`));
      });
      this.pending.set(id, { expects, resolve, reject, cancelTimer });
      try {
        this.deps.send(build(id));
      } catch (err) {
        this.pending.delete(id);
        this.window.release();
        cancelTimer();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** An answer or an error came for request `msg.id`. */
  answer(msg: Answer | ErrorMessage): void {
    const p = this.pending.get(msg.id);
    // An answer to a request that timed out is late, not hostile.
    if (p === undefined) return;
    if (msg.type !== 'error' && msg.type !== p.expects) {
      this.deps.violation(`protocol error: ${msg.type} answers a request that wanted ${p.expects}`);
      return;
    }
    this.pending.delete(msg.id);
    this.window.release();
    p.cancelTimer();
    if (msg.type !== 'error') p.resolve(msg);
    else p.reject(new WizardError(msg.code === 'io' ? 'INTERNAL' : 'CHANGED', `peer ${this.deps.peer}: ${msg.message}`));
  }

  /** The session ended: every request waiting, and every one still to be sent, fails with `err`. */
  fail(err: Error): void {
    this.window.close(err);
    for (const [id, p] of this.pending) {
      p.cancelTimer();
      p.reject(err);
      this.pending.delete(id);
    }
  }
}
