/**
 * A FIFO async mutex. Holders run one at a time, in the order they asked.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier holder has finished; its result or error passes through. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    // The chain must continue after a failing holder, so the next waiter is not blocked by its error.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
