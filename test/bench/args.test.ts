/**
 * The benchmark suite never runs in CI (slow, machine-dependent); these tests only pin its
 * argument parsing and the plan it derives from them.
 */
import { describe, expect, it } from 'vitest';
import { ArgsError, GROUPS, OPT_IN_WORKLOADS, parseArgs, planGroups, usage, WORKLOADS, type BenchOptions } from '../../bench/lib/args.mjs';
import { FULL, QUICK, describeProfile, profileFor } from '../../bench/lib/profile.mjs';

describe('parseArgs', () => {
  it('defaults to every workload but SCALE-1M, Wizard alone, the full profile and a build', () => {
    const o = parseArgs([]);
    expect(o).toMatchObject({ quick: false, vs: [], seed: 1, syncthingDelayS: 1, build: true, keepData: false, help: false });
    expect(OPT_IN_WORKLOADS).toEqual(['SCALE-1M']);
    expect(o.workloads).toEqual(WORKLOADS.filter((w) => w !== 'SCALE-1M'));
    expect(o.reps).toBeUndefined();
  });

  /** Accepted command lines: `want` is the subset of options they set. */
  const accepted: { description: string; argv: string[]; want: Partial<BenchOptions> }[] = [
    { description: 'the issue command', argv: ['--quick', '--vs', 'syncthing,rsync'], want: { quick: true, vs: ['syncthing', 'rsync'] } },
    { description: '--vs=LIST', argv: ['--vs=rsync'], want: { vs: ['rsync'] } },
    { description: 'duplicates and blanks in a list', argv: ['--vs', 'rsync,,rsync'], want: { vs: ['rsync'] } },
    { description: 'workloads in any case, kept in run order', argv: ['--workloads', 'scale,lat'], want: { workloads: ['LAT', 'SCALE'] } },
    { description: 'SCALE-1M when named, in any case', argv: ['--workloads', 'scale-1m'], want: { workloads: ['SCALE-1M'] } },
    { description: 'SCALE-1M beside SCALE, in run order', argv: ['--workloads', 'SCALE-1M,SCALE'], want: { workloads: ['SCALE', 'SCALE-1M'] } },
    { description: 'numbers', argv: ['--reps', '2', '--lat-reps=7', '--seed', '3', '--syncthing-delay', '10'], want: { reps: 2, latReps: 7, seed: 3, syncthingDelayS: 10 } },
    { description: 'switches', argv: ['--no-build', '--keep-data', '-v', '-h'], want: { build: false, keepData: true, verbose: true, help: true } },
    { description: 'files', argv: ['--out', 'x.json', '--from=y.json'], want: { out: 'x.json', from: 'y.json' } },
  ];
  for (const c of accepted) {
    it(`accepts ${c.description}`, () => {
      expect(parseArgs(c.argv)).toMatchObject(c.want);
    });
  }

  /** Refused command lines: `message` is part of the one-line error. */
  const refused: { description: string; argv: string[]; message: string }[] = [
    { description: 'an unknown option', argv: ['--fast'], message: "unknown option '--fast'" },
    { description: 'a system the suite cannot drive', argv: ['--vs', 'unison'], message: "unknown 'unison'" },
    { description: 'wizard against itself', argv: ['--vs', 'wizard'], message: "unknown 'wizard'" },
    { description: 'an unknown workload', argv: ['--workloads', 'HUGE'], message: "unknown 'HUGE'" },
    { description: 'a 1M workload spelled without its dash', argv: ['--workloads', 'SCALE1M'], message: "unknown 'SCALE1M'" },
    { description: 'an empty list', argv: ['--vs', ','], message: 'comma-separated list' },
    { description: 'a missing value', argv: ['--reps'], message: '--reps needs a value' },
    { description: 'an option where a value belongs', argv: ['--vs', '--quick'], message: '--vs needs a value' },
    { description: 'zero repetitions', argv: ['--reps', '0'], message: 'whole number >= 1' },
    { description: 'a fraction', argv: ['--lat-reps', '1.5'], message: 'whole number >= 1' },
    { description: 'a value on a switch', argv: ['--quick=yes'], message: '--quick takes no value' },
  ];
  for (const c of refused) {
    it(`refuses ${c.description}`, () => {
      expect(() => parseArgs(c.argv)).toThrow(ArgsError);
      expect(() => parseArgs(c.argv)).toThrow(c.message);
    });
  }

  it('keeps every error message to one line', () => {
    for (const argv of [['--x'], ['--vs', 'x'], ['--reps', 'x']]) {
      try {
        parseArgs(argv);
      } catch (err) {
        expect(String((err as Error).message)).not.toContain('\n');
      }
    }
  });

  it('documents every option it accepts', () => {
    for (const flag of ['--quick', '--vs', '--workloads', '--reps', '--lat-reps', '--seed', '--syncthing-delay', '--no-build', '--keep-data', '--out', '--from', '--verbose', '--help']) {
      expect(usage()).toContain(flag);
    }
  });

  it('says in --help that SCALE-1M is opt-in, its size, and that it is Wizard alone', () => {
    expect(usage()).toContain('(default: all but SCALE-1M)');
    expect(usage()).toContain('SCALE-1M: 1,000,000 files of 1-4 KiB in 10,000 dirs on one node, Wizard alone');
    expect(usage()).toContain('not run: Wizard alone');
  });
});

describe('planGroups', () => {
  it('runs every group for every workload', () => {
    expect(planGroups([...WORKLOADS]).map((g) => g.name)).toEqual(GROUPS.map((g) => g.name));
  });

  it('runs the setup a dependent workload needs', () => {
    expect(planGroups(['IDLE']).map((g) => g.name)).toEqual(['SMALL']);
    expect(planGroups(['EDIT', 'LAT']).map((g) => g.name)).toEqual(['LAT', 'BIG']);
  });

  it('runs SCALE-1M as its own once-only group, for Wizard alone', () => {
    expect(planGroups(['SCALE-1M'])).toEqual([{ name: 'SCALE1M', workloads: ['SCALE-1M'], reps: 'first', only: 'wizard' }]);
    expect(planGroups(['SCALE']).map((g) => g.name)).toEqual(['SCALE']);
    expect(GROUPS.filter((g) => g.only !== undefined).map((g) => g.name)).toEqual(['SCALE1M']);
  });

  it('covers every workload with exactly one group', () => {
    for (const w of WORKLOADS) expect(GROUPS.filter((g) => g.workloads.includes(w))).toHaveLength(1);
  });
});

describe('profiles', () => {
  it('full uses the anchor harness sizes', () => {
    expect(FULL.small).toEqual({ files: 5000, minBytes: 1024, maxBytes: 65536 });
    expect(FULL.bigBytes).toBe(512 * 2 ** 20);
    expect(FULL.shiftBytes).toBe(64 * 2 ** 20);
    expect(FULL.burst.files).toBe(2000);
    expect(FULL.mixedBigBytes).toBe(2 ** 30);
    expect(FULL.scale.files).toBe(100_000);
    expect(FULL.latReps).toBe(20);
  });

  it('full SCALE-1M is issue 17\'s 1,000,000 files of 1-4 KiB in 10,000 dirs, with a 40 min index timeout', () => {
    expect(FULL.scale1m).toMatchObject({ files: 1_000_000, minBytes: 1024, maxBytes: 4096 });
    expect(FULL.scale1m.topDirs * 10).toBe(10_000);
    expect(FULL.scale1m.indexTimeoutMs).toBe(40 * 60_000);
    expect(FULL.scale1m.rescanTimeoutMs).toBeGreaterThan(10_000);
  });

  it('quick is smaller in every size and runs once', () => {
    expect(profileFor(true)).toBe(QUICK);
    expect(profileFor(false)).toBe(FULL);
    expect(QUICK.reps).toBe(1);
    expect(QUICK.small.files).toBeLessThan(FULL.small.files);
    expect(QUICK.bigBytes).toBeLessThan(FULL.bigBytes);
    expect(QUICK.shiftBytes).toBeLessThan(FULL.shiftBytes);
    expect(QUICK.burst.files).toBeLessThan(FULL.burst.files);
    expect(QUICK.mixedBigBytes).toBeLessThan(FULL.mixedBigBytes);
    expect(QUICK.scale.files).toBeLessThan(FULL.scale.files);
    expect(QUICK.scale1m.files).toBeLessThan(FULL.scale1m.files);
    expect(QUICK.scale1m.indexTimeoutMs).toBeLessThan(FULL.scale1m.indexTimeoutMs);
    expect(QUICK.idleWindowMs).toBeLessThan(FULL.idleWindowMs);
    expect(QUICK.compress.bytes).toBeLessThan(FULL.compress.bytes);
  });

  it('describes its sizes in one line', () => {
    const line = describeProfile(FULL);
    expect(line).toContain('SMALL 5,000 files of 1-64 KiB');
    expect(line).toContain('MIXED 1 GiB + 100 files');
    expect(line).toContain('SCALE 100,000 files');
    expect(line).toContain('SCALE-1M 1,000,000 files of 1-4 KiB in 10,000 dirs');
    expect(line).toContain('COMPRESS 64 MiB of log-like text with uploads limited to 8 MiB/s, 64 MiB random unlimited');
    expect(line).not.toContain('\n');
  });
});
