/** The ConfigError `fn` throws; any other outcome fails the test. */
import { ConfigError } from '../../src/core/errors.js';

/** Runs `fn` and returns the ConfigError it threw; rethrows anything else, and fails when nothing was thrown. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
