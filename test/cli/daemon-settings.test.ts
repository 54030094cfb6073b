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

it('start without either setting: both, and the mark that stops a third start', () => {
  expect(relaunchPlan(['--home', '/h', 'start', '--pretty'], { PATH: '/bin' }, ['--inspect'], 'linux')).toEqual({
    nodeArgs: ['--inspect', '--max-semi-space-size=1'],
    env: { PATH: '/bin', MALLOC_ARENA_MAX: '2', WIZARD_RELAUNCHED: '1' },
  });
});

it('only start: other commands, and a home named start, run where they are', () => {
  for (const args of [['status'], ['--home', 'start', 'status'], ['help', 'start'], ['--version'], []]) expect(relaunchPlan(args, {}, [], 'linux')).toBeUndefined();
});

it('a setting given by the user or the service unit is kept, and with both given nothing starts twice', () => {
  expect(relaunchPlan(['start'], { MALLOC_ARENA_MAX: '8' }, [], 'linux')?.env.MALLOC_ARENA_MAX).toBe('8');
  expect(relaunchPlan(['start'], {}, ['--max-semi-space-size=4'], 'linux')?.nodeArgs).toEqual(['--max-semi-space-size=4']);
  expect(relaunchPlan(['start'], { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=1' }, [], 'linux')).toBeUndefined();
  expect(relaunchPlan(['start'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, ['--max-semi-space-size=1'], 'linux')).toBeUndefined();
  expect(relaunchPlan(['start'], { WIZARD_RELAUNCHED: '1' }, [], 'linux')).toBeUndefined();
});

it('away from glibc the arena cap means nothing: only the young generation', () => {
  expect(relaunchPlan(['start'], {}, [], 'darwin')?.env.MALLOC_ARENA_MAX).toBeUndefined();
  expect(relaunchPlan(['start'], {}, ['--max-semi-space-size=1'], 'darwin')).toBeUndefined();
});
