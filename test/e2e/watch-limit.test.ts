/**
 * W2 with real daemons and the kernel's real inotify limit: alpha runs in its
 * own user namespace whose `max_inotify_watches` is set low (a per-namespace
 * limit: the machine-wide fs.inotify.max_user_watches and every other process
 * are untouched), so the kernel refuses most of its folder's dirs with ENOSPC.
 * Every file still reaches beta, the refused dirs by polling; status, why and
 * the log say so once; raising the limit ends the polling.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_RUN } from '../support/long.js';
import { cleanup, initNode, runCli, startDaemon, tempDir, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

/** The namespace's watch limit: the config watcher, the folder root and a few dirs; the rest are refused. */
const LIMIT = 5;
const DIRS = Array.from({ length: 8 }, (_, i) => `d${i}`);
const limitWatches = (n: number) => `echo ${n} > /proc/sys/user/max_inotify_watches`;
/** Unprivileged user namespaces may be off (a hardened kernel, a container): then this cannot be set up without touching the machine. */
const canLimit = spawnSync('unshare', ['-U', '-r', 'sh', '-c', limitWatches(LIMIT)]).status === 0 && spawnSync('nsenter', ['--version']).status === 0;

let base: string;
let a: TestNode;
let b: TestNode;

const limitLines = () => (a.daemon?.log ?? '').split('\n').filter((l) => l.includes('inotify watch limit'));

describe.skipIf(!canLimit || !LONG_RUN)('W2: the inotify watch limit, for real', () => {
  beforeAll(async () => {
    base = tempDir('watch-limit');
    a = await initNode(base, 'alpha');
    b = await initNode(base, 'beta', a);
    for (const d of DIRS) mkdirSync(path.join(a.folder, d, 'inner'), { recursive: true });
    await startDaemon(a, {}, { launcher: ['unshare', '-U', '-r', 'sh', '-c', `${limitWatches(LIMIT)} && exec "$@"`, 'sh'] });
    await startDaemon(b);
    const paired = await runCli(b.home, ['pair', `127.0.0.1:${a.port}`]);
    if (paired.code !== 0) throw new Error(`pair failed: ${paired.stderr}`);
    await waitConnected(a, b);
  });

  afterAll(async () => {
    await cleanup(base, [a, b]);
  });

  it('W2: refused dirs are polled, every file syncs, and status, why and the log say so once; raising the limit ends it', async () => {
    const problem = (await a.daemon?.status())?.folders[0]?.watchProblem;
    expect(problem).toMatch(/^cannot watch \d+ subtrees \(first d\d\): the inotify watch limit \(fs\.inotify\.max_user_watches\) is reached; rescanning them every 10 s instead; raise it with 'sudo sysctl fs\.inotify\.max_user_watches=524288' and keep it in a file in \/etc\/sysctl\.d\/$/);
    const text = (await runCli(a.home, ['status'])).stdout;
    expect(text.split('\n').filter((l) => l.includes('inotify watch limit'))).toEqual([`    ${problem}`]);

    for (const d of DIRS) writeFileSync(path.join(a.folder, d, 'inner', `${d}.txt`), `content of ${d}`);
    const tree = await waitSameTree(a, b, 40_000);
    expect(tree.filter((l) => l.startsWith('f '))).toHaveLength(DIRS.length);
    const polled = /first (d\d)/.exec(problem ?? '')?.[1] ?? '';
    const why = JSON.parse((await runCli(a.home, ['status', '--why', `${polled}/inner/${polled}.txt`, '--json'])).stdout) as { reasons: string[] };
    expect(why.reasons).toContain(`not watched, polled: ${problem}`);

    // The limit raised inside alpha's namespace: the next poll watches everything and polling stops.
    const raised = spawnSync('nsenter', ['-U', '-t', String(a.daemon?.pid), 'sh', '-c', limitWatches(1000)]);
    expect(raised.status, raised.stderr.toString()).toBe(0);
    await waitFor('every dir watched again', async () => (await a.daemon?.status())?.folders[0]?.watchProblem === undefined, 30_000);
    expect(a.daemon?.log).toContain('every dir of the folder is watched again; polling stopped');
    expect(limitLines()).toHaveLength(1);
    expect(a.daemon?.log).not.toContain('watcher error');
    expect(a.daemon?.log).not.toContain('ENOSPC');
  });
});
