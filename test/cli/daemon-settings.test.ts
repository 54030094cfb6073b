/**
 * When `wizard start` starts the daemon once more for its memory settings (bin/daemon-settings.js):
 * only for `start`, only for what is missing, a setting given is kept as given, and never twice.
 */
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';

interface Plan {
  readonly nodeArgs: string[];
  readonly env: NodeJS.ProcessEnv;
}
const { relaunchPlan } = createRequire(import.meta.url)('../../bin/daemon-settings.js') as {
  relaunchPlan: (args: string[], env: NodeJS.ProcessEnv, execArgv: string[], platform: string) => Plan | undefined;
};

const glibc = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };

it('start without the settings: all of them, and the mark that stops a third start', () => {
  expect(relaunchPlan(['--home', '/h', 'start', '--pretty'], { PATH: '/bin' }, ['--inspect'], 'linux')).toEqual({
    nodeArgs: ['--inspect', '--max-semi-space-size=1'],
    env: { PATH: '/bin', ...glibc, WIZARD_RELAUNCHED: '1' },
  });
});

it('only start: other commands, and a home named start, run where they are', () => {
  for (const args of [['status'], ['--home', 'start', 'status'], ['help', 'start'], ['--version'], []]) expect(relaunchPlan(args, {}, [], 'linux')).toBeUndefined();
});

it('a setting given by the user or the service unit is kept, and with both given nothing starts twice', () => {
  expect(relaunchPlan(['start'], { MALLOC_ARENA_MAX: '8' }, [], 'linux')?.env).toEqual({ ...glibc, MALLOC_ARENA_MAX: '8', WIZARD_RELAUNCHED: '1' });
  expect(relaunchPlan(['start'], {}, ['--max-semi-space-size=4'], 'linux')?.nodeArgs).toEqual(['--max-semi-space-size=4']);
  // The service unit before the malloc thresholds: only they are added.
  expect(relaunchPlan(['start'], { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=1' }, [], 'linux')).toEqual({
    nodeArgs: [],
    env: { ...glibc, NODE_OPTIONS: '--max-semi-space-size=1', WIZARD_RELAUNCHED: '1' },
  });
  expect(relaunchPlan(['start'], { ...glibc, NODE_OPTIONS: '--max-semi-space-size=1' }, [], 'linux')).toBeUndefined();
  const tunables = 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072';
  expect(relaunchPlan(['start'], { GLIBC_TUNABLES: tunables }, ['--max-semi-space-size=1'], 'linux')).toBeUndefined();
  expect(relaunchPlan(['start'], { WIZARD_RELAUNCHED: '1' }, [], 'linux')).toBeUndefined();
});

it('away from glibc its settings mean nothing: only the young generation', () => {
  expect(relaunchPlan(['start'], {}, [], 'darwin')?.env).toEqual({ WIZARD_RELAUNCHED: '1' });
  expect(relaunchPlan(['start'], {}, ['--max-semi-space-size=1'], 'darwin')).toBeUndefined();
});
