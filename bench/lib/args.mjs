// Command-line parsing for `npm run bench`. Pure: argv in, options out; errors are one line.

/**
 * Systems the suite can drive; Wizard always runs, the others via --vs. `floor` is not a tool but the
 * least a durable real-time sync must do for BURST and MIXED's small files (bench/drivers/floor.mjs).
 */
export const SYSTEMS = Object.freeze(['wizard', 'syncthing', 'rsync', 'floor']);

/** Every workload, in run order. */
export const WORKLOADS = Object.freeze(['LAT', 'SMALL', 'IDLE', 'BIG', 'EDIT', 'SHIFT', 'EDIT-4G', 'BURST', 'MIXED', 'SCALE', 'SCALE-1M', 'COMPRESS']);

/**
 * Workloads a run without --workloads leaves out: SCALE-1M alone takes 8 GiB of disk and up to
 * an hour (generating, copying and indexing 1,000,000 files), so it runs only when named.
 */
export const OPT_IN_WORKLOADS = Object.freeze(['SCALE-1M']);

/**
 * Workloads that share one setup, in run order: IDLE samples the pair that just synced SMALL,
 * EDIT changes the file BIG just synced; COMPRESS records several cases (see COMPRESS_CASES). `reps: 'first'` groups run in repetition 1 only
 * (LAT and MIXED repeat internally or are minutes long; SCALE is one long index).
 * `only` names the one system that runs a group; the others get an 'n/a' record saying so.
 */
export const GROUPS = Object.freeze([
  { name: 'LAT', workloads: ['LAT'], reps: 'first' },
  { name: 'SMALL', workloads: ['SMALL', 'IDLE'], reps: 'all' },
  { name: 'BIG', workloads: ['BIG', 'EDIT'], reps: 'all' },
  { name: 'SHIFT', workloads: ['SHIFT'], reps: 'all' },
  // 4 KiB written into a 4 GiB file (issue 18); its initial sync is recorded as EDIT-4G-initial. Once: 12 GiB on disk a system.
  { name: 'BIG4G', workloads: ['EDIT-4G'], reps: 'first' },
  { name: 'BURST', workloads: ['BURST'], reps: 'all' },
  { name: 'MIXED', workloads: ['MIXED'], reps: 'first' },
  { name: 'SCALE', workloads: ['SCALE'], reps: 'first' },
  // Issue 17's 1,000,000 files in 10,000 dirs: Wizard alone (an index of 1M files per tool would double the run).
  { name: 'SCALE1M', workloads: ['SCALE-1M'], reps: 'first', only: 'wizard' },
  { name: 'COMPRESS', workloads: ['COMPRESS'], reps: 'all' },
]);

/**
 * The records COMPRESS yields per system and repetition: each file synced once with compression
 * off and once on, and per data kind the auto ÷ none ratios of the two.
 */
export const COMPRESS_CASES = Object.freeze(['COMPRESS-text-none', 'COMPRESS-text-auto', 'COMPRESS-text', 'COMPRESS-random-none', 'COMPRESS-random-auto', 'COMPRESS-random']);

/** A usage problem, reported as one line with exit code 2. */
export class ArgsError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ArgsError';
  }
}

/** The text of --help. */
export function usage() {
  return [
    'usage: npm run bench -- [options]',
    '',
    '  --quick                 reduced sizes, 1 repetition (a smoke run, under 3 minutes)',
    `  --vs LIST               also run these systems, comma-separated: ${SYSTEMS.filter((s) => s !== 'wizard').join(',')}`,
    '                          (floor: the durable floor of BURST and MIXED\'s small files on this machine)',
    `  --workloads LIST        subset of ${WORKLOADS.join(',')} (default: all but ${OPT_IN_WORKLOADS.join(',')})`,
    '                          SCALE-1M: 1,000,000 files of 1-4 KiB in 10,000 dirs on one node, Wizard alone',
    '                          (8 GiB free under $WZB, up to an hour; with --vs the others show "not run: Wizard alone")',
    '  --reps N                repetitions of SMALL/BIG/EDIT/SHIFT/BURST/COMPRESS (default 3, quick 1)',
    '  --lat-reps N            probes per LAT mode after one warm-up (default 20, quick 3)',
    '  --seed N                workload seed (default 1, the anchors\' seed)',
    '  --syncthing-delay S     Syncthing fsWatcherDelayS (default 1, the smallest 1.19 accepts)',
    '  --no-build              do not run `npm run build` first',
    '  --keep-data             keep generated templates under $WZB (default /tmp/wzb-wizard) for the next run',
    '  --out FILE              where to write the raw results JSON (default bench/results/<time>.json)',
    '  --from FILE             print the table of a saved results JSON and exit',
    '  -v, --verbose           log every LAT probe',
    '  -h, --help              this text',
  ].join('\n');
}

function positiveInt(name, value) {
  if (!/^\d+$/.test(value ?? '') || Number(value) < 1) throw new ArgsError(`${name} takes a whole number >= 1, got '${value ?? ''}'`);
  return Number(value);
}

function list(name, value, allowed) {
  const items = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new ArgsError(`${name} takes a comma-separated list (${allowed.join(',')})`);
  for (const item of items) {
    if (!allowed.includes(item)) throw new ArgsError(`${name}: unknown '${item}' (known: ${allowed.join(',')})`);
  }
  return [...new Set(items)];
}

/** Parses argv (without node and script) into options; throws ArgsError on anything unknown or malformed. */
export function parseArgs(argv) {
  const opts = {
    help: false,
    quick: false,
    vs: [],
    workloads: WORKLOADS.filter((w) => !OPT_IN_WORKLOADS.includes(w)),
    reps: undefined,
    latReps: undefined,
    seed: 1,
    syncthingDelayS: 1,
    build: true,
    keepData: false,
    out: undefined,
    from: undefined,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const inline = eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ArgsError(`${flag} needs a value`);
      i++;
      return next;
    };
    const noValue = () => {
      if (inline !== undefined) throw new ArgsError(`${flag} takes no value`);
    };
    switch (flag) {
      case '-h':
      case '--help':
        noValue();
        opts.help = true;
        break;
      case '-v':
      case '--verbose':
        noValue();
        opts.verbose = true;
        break;
      case '--quick':
        noValue();
        opts.quick = true;
        break;
      case '--vs':
        opts.vs = list('--vs', value(), SYSTEMS.filter((s) => s !== 'wizard'));
        break;
      case '--workloads': {
        const wanted = list('--workloads', value().toUpperCase(), WORKLOADS);
        opts.workloads = WORKLOADS.filter((w) => wanted.includes(w));
        break;
      }
      case '--reps':
        opts.reps = positiveInt('--reps', value());
        break;
      case '--lat-reps':
        opts.latReps = positiveInt('--lat-reps', value());
        break;
      case '--seed':
        opts.seed = positiveInt('--seed', value());
        break;
      case '--syncthing-delay':
        opts.syncthingDelayS = positiveInt('--syncthing-delay', value());
        break;
      case '--no-build':
        noValue();
        opts.build = false;
        break;
      case '--keep-data':
        noValue();
        opts.keepData = true;
        break;
      case '--out':
        opts.out = value();
        break;
      case '--from':
        opts.from = value();
        break;
      default:
        throw new ArgsError(`unknown option '${raw}' (see --help)`);
    }
  }
  return opts;
}

/** The groups to run for a workload selection (a group runs when any of its workloads is selected). */
export function planGroups(workloads) {
  return GROUPS.filter((g) => g.workloads.some((w) => workloads.includes(w)));
}
