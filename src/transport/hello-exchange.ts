/**
 * The start of a session: the peer's Hello, checked as it arrives (our
 * protocol version, and the ID its certificate proves), awaited with a
 * timeout, by the dialer after it sent its own and by the accepting node
 * before it answers (what it answers depends on what the dialer asked).
 * A refused or missing Hello closes the session.
 */
import type { Clock } from '../core/clock.js';
import { describeError, ProtocolError, WizardError } from '../core/errors.js';
import { PROTOCOL_VERSION, type Hello } from '../protocol/messages.js';

/** What the exchange needs from its session. */
export interface HelloExchangeDeps {
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** The ID the peer's certificate proves. */
  readonly peerId: string;
  /** Resolves with the reason once the session ended. */
  readonly closed: Promise<string>;
  readonly close: (reason: string) => void;
  /** The peer's Hello was good: frames after it may be read under the rules it earns. */
  readonly accepted: () => void;
}

/** One session's Hellos. */
export class HelloExchange {
  /** The peer's Hello, once accepted. */
  peerHello: Hello | undefined;
  private waiter: { resolve: (hello: Hello) => void; reject: (err: Error) => void } | undefined;
  /** Why the peer's Hello was refused, for a wait that starts after it arrived. */
  private refusal: ProtocolError | undefined;

  constructor(private readonly deps: HelloExchangeDeps) {}

  /** Waits for the peer's Hello; rejects, and closes the session, when it is refused, late, or the session ends. */
  async receive(): Promise<Hello> {
    const { clock, timeoutMs, peerId } = this.deps;
    let cancelTimer = () => {};
    const got = new Promise<Hello>((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (this.refusal !== undefined) reject(this.refusal);
      if (this.peerHello !== undefined) resolve(this.peerHello);
      cancelTimer = clock.setTimer(timeoutMs, () => reject(new WizardError('TIMEOUT', `peer ${peerId.slice(0, 8)} sent no hello within ${timeoutMs} ms`)));
      void this.deps.closed.then((reason) => reject(new WizardError('CLOSED', `connection closed during handshake: ${reason}`)));
    });
    try {
      return await got.finally(() => cancelTimer());
    } catch (err) {
      this.deps.close(describeError(err));
      throw err;
    }
  }

  /** The peer's Hello arrived (always its first message): accepted, or refused and the session closed. */
  arrived(hello: Hello): void {
    let problem: string | undefined;
    if (hello.protocol !== PROTOCOL_VERSION) {
      problem = `peer speaks protocol ${hello.protocol}, we speak ${PROTOCOL_VERSION}: update Wizard on both machines`;
    } else if (hello.id !== this.deps.peerId) {
      problem = `peer claims ID ${hello.id.slice(0, 8)} but its certificate is ${this.deps.peerId.slice(0, 8)}`;
    }
    if (problem !== undefined) {
      this.refusal = new ProtocolError(problem);
      this.waiter?.reject(this.refusal);
      this.deps.close(problem);
      return;
    }
    this.peerHello = hello;
    this.deps.accepted();
    this.waiter?.resolve(hello);
  }
}
