/**
 * One enrolment connection's messages: framed msgpack as in a sync session,
 * but raw (no compression), one message at a time, and only the enrolment
 * types and `close` accepted (ENROL_RULES), each within its budget.
 */
import type { TLSSocket } from 'node:tls';
import { WizardError } from '../core/errors.js';
import { ENROL_RULES } from '../protocol/budgets.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/framing.js';
import type { Message } from '../protocol/messages.js';

/** The exporter label both ends bind the invite's proof to (RFC 8446 7.5). */
export const ENROL_EXPORTER_LABEL = 'EXPORTER-wizard-enrol-v1';
/** Bytes of exporter value the proof covers. */
export const ENROL_EXPORTER_BYTES = 32;

/** Messages read ahead of the exchange: it has three, so a peer sending more is not following it. */
const MAX_WAITING = 2;

/** Messages over an enrolment socket. */
export class EnrolChannel {
  private readonly decoder = new FrameDecoder({ maxFrameBytes: ENROL_RULES.maxBytes });
  private readonly waiting: Message[] = [];
  private waiter: { resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('close', () => this.fail(new WizardError('CLOSED', 'the other side closed the enrolment connection')));
    socket.on('error', (err: Error) => this.fail(err));
  }

  /** This TLS session's exporter value: what the invite's proof is bound to, so it cannot be replayed on another connection. */
  exporter(): Buffer {
    // No context: TLS 1.3 treats it as empty (RFC 8446 7.5), and both ends pass the same.
    return this.socket.exportKeyingMaterial(ENROL_EXPORTER_BYTES, ENROL_EXPORTER_LABEL, Buffer.alloc(0));
  }

  send(msg: Message): void {
    this.socket.write(encodeMessage(msg));
  }

  /** The next message; rejects when the connection ends, breaks the rules, or `timeoutMs` passes first. */
  receive(timeoutMs: number): Promise<Message> {
    const ready = this.waiting.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new WizardError('TIMEOUT', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends a close with `reason` (when `reason` is given) and ends the connection. */
  end(reason?: string): void {
    if (reason !== undefined && !this.socket.destroyed) this.send({ type: 'close', reason });
    this.socket.end();
    // A peer that never reads must not keep the socket: it goes after a moment either way.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private take(chunk: Buffer): void {
    try {
      this.decoder.append(chunk);
      for (let frame = this.decoder.next({ maxBytes: ENROL_RULES.maxBytes, compressed: false }); frame !== undefined; frame = this.decoder.next({ maxBytes: ENROL_RULES.maxBytes, compressed: false })) {
        const msg = decodeMessage(frame.body, ENROL_RULES);
        if (!ENROL_RULES.types.has(msg.type)) throw new WizardError('PROTOCOL', `${ENROL_RULES.refusal}: ${msg.type}`);
        const waiter = this.waiter;
        this.waiter = undefined;
        if (waiter !== undefined) waiter.resolve(msg);
        else if (this.waiting.length < MAX_WAITING) this.waiting.push(msg);
        else throw new WizardError('PROTOCOL', 'more enrolment messages than the exchange has');
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      this.socket.destroy();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}
