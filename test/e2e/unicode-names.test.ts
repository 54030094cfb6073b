/**
 * Issue 15, item 12: names that are not in Unicode NFC on disk, through two
 * real daemons. A file named in NFD (as a Mac writes it) syncs under its NFC
 * name, which is what peers exchange, and is read, watched, replaced and
 * deleted here under its own name; two spellings of one name are a clash,
 * reported and synced over neither; a name that is not UTF-8 is reported.
 * Before, the scan skipped all of these with nothing but a log line.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../src/status/control.js';
import type { StatusSnapshot } from '../../src/status/snapshot.js';
import type { Why } from '../../src/status/why.js';
import { cleanup, runCli, startPairedNodes, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';

let base: string;
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  ({ base, a, b } = await startPairedNodes('nfd'));
});

afterAll(async () => {
  await cleanup(base, [a, b]);
});

/** The file's content, or undefined while it is not there. */
function contentOf(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** The names in `dir` that are `nfc` in NFC, as spelled there. */
function spellings(dir: string, nfc: string): string[] {
  return readdirSync(dir).filter((n) => n.normalize('NFC') === nfc);
}

/** Status straight from the control socket: polled, a CLI process per look would cost more than the wait. */
async function status(node: TestNode): Promise<StatusSnapshot> {
  return (await controlRequest(node.home, { cmd: 'status' })) as StatusSnapshot;
}

async function why(node: TestNode, rel: string): Promise<Why> {
  return (await controlRequest(node.home, { cmd: 'why', folder: 'shared', path: rel })) as Why;
}

describe('names not in NFC on disk', () => {
  it('an NFD file syncs under its NFC name both ways: the peer gets it, edits go across, a peer edit lands in the NFD file, a deletion syncs', async () => {
    const nfd = 'cafe\u0301.txt';
    const nfc = nfd.normalize('NFC');
    const dirNfd = 'Unterlagen-Mu\u0308ller';
    const dirNfc = dirNfd.normalize('NFC');
    writeFileSync(path.join(a.folder, nfd), 'one');
    mkdirSync(path.join(a.folder, dirNfd));
    writeFileSync(path.join(a.folder, dirNfd, 'notes.txt'), 'inside');

    await waitFor('the file on beta under its NFC name', () => contentOf(path.join(b.folder, nfc)) === 'one');
    await waitFor('the NFD dir on beta under its NFC name', () => contentOf(path.join(b.folder, dirNfc, 'notes.txt')) === 'inside');
    expect(spellings(b.folder, nfc)).toEqual([nfc]);
    expect(spellings(b.folder, dirNfc)).toEqual([dirNfc]);

    writeFileSync(path.join(a.folder, nfd), 'two, from alpha');
    writeFileSync(path.join(a.folder, dirNfd, 'notes.txt'), 'inside, edited on alpha');
    await waitFor('alpha\'s edit on beta', () => contentOf(path.join(b.folder, nfc)) === 'two, from alpha');
    await waitFor('alpha\'s edit in its NFD dir on beta', () => contentOf(path.join(b.folder, dirNfc, 'notes.txt')) === 'inside, edited on alpha');

    writeFileSync(path.join(b.folder, nfc), 'three, from beta');
    writeFileSync(path.join(b.folder, dirNfc, 'notes.txt'), 'inside, from beta');
    await waitFor('beta\'s edit in alpha\'s NFD file', () => contentOf(path.join(a.folder, nfd)) === 'three, from beta');
    await waitFor('beta\'s edit in alpha\'s NFD dir', () => contentOf(path.join(a.folder, dirNfd, 'notes.txt')) === 'inside, from beta');
    // Written over the file under its own name: not a second file beside it.
    expect(spellings(a.folder, nfc)).toEqual([nfd]);
    expect(spellings(a.folder, dirNfc)).toEqual([dirNfd]);
    expect(readdirSync(path.join(a.folder, dirNfd))).toEqual(['notes.txt']);

    rmSync(path.join(a.folder, nfd));
    await waitFor('the deletion on beta', () => !existsSync(path.join(b.folder, nfc)));
    expect((await status(a)).folders[0]?.skipped).toBeUndefined();
  });

  it('two spellings of one name are a clash: reported in status and --why, neither synced over by the peer; renaming one lets both sync', async () => {
    const nfc = 'cl\u00e9.txt';
    const nfd = 'cle\u0301.txt';
    writeFileSync(path.join(a.folder, nfc), 'composed, alpha');
    await waitFor('clé.txt on beta', () => contentOf(path.join(b.folder, nfc)) === 'composed, alpha');
    writeFileSync(path.join(a.folder, nfd), 'decomposed, alpha');

    const clashed = await waitFor('the clash in alpha\'s status', async () => {
      const s = (await status(a)).folders[0]?.skipped;
      return s?.examples.some((e) => e.path === nfc) === true ? s : undefined;
    });
    expect(clashed.examples.find((e) => e.path === nfc)?.reason).toMatch(/2 names here differ only in how their letters are encoded \(Unicode NFC, NFD\)/);
    const human = await runCli(a.home, ['status']);
    expect(human.stdout).toMatch(/1 path is not synced \(see 'wizard status --why PATH'\):\n {6}clé\.txt: 2 names here differ/);
    const text = await runCli(a.home, ['status', '--why', nfc, '--folder', 'shared']);
    expect(text.stdout).toMatch(/\n {2}- not synced from here: 2 names here differ only/);

    // The peer edits it, then writes a barrier: by the time the barrier is here, alpha has decided the edit.
    writeFileSync(path.join(b.folder, nfc), 'edited on beta');
    writeFileSync(path.join(b.folder, 'barrier-clash.txt'), 'after the edit');
    await waitFor('the barrier on alpha', () => contentOf(path.join(a.folder, 'barrier-clash.txt')) === 'after the edit');
    await waitFor('alpha to know beta\'s newer version and have nothing in flight', async () => {
      const w = await why(a, nfc);
      return w.peers.some((p) => p.relation === 'newer') && (await status(a)).transfers.length === 0;
    });
    expect(contentOf(path.join(a.folder, nfc))).toBe('composed, alpha');
    expect(contentOf(path.join(a.folder, nfd))).toBe('decomposed, alpha');
    // Nor is the clash a deletion: beta keeps its file.
    expect(contentOf(path.join(b.folder, nfc))).toBe('edited on beta');

    renameSync(path.join(a.folder, nfd), path.join(a.folder, 'cle\u0301-2.txt'));
    await waitFor('beta\'s edit on alpha once the clash is gone', () => contentOf(path.join(a.folder, nfc)) === 'edited on beta');
    await waitFor('the renamed file on beta', () => contentOf(path.join(b.folder, 'cl\u00e9-2.txt')) === 'decomposed, alpha');
    expect((await status(a)).folders[0]?.skipped).toBeUndefined();
  });

  it('a name that is not valid UTF-8 is reported in status, not skipped in silence', async () => {
    writeFileSync(Buffer.concat([Buffer.from(`${a.folder}/`), Buffer.from([0x72, 0x65, 0x70, 0xff, 0x2e, 0x74, 0x78, 0x74])]), 'latin-1 name');
    const skipped = await waitFor('the name in alpha\'s status', async () => (await status(a)).folders[0]?.skipped);
    expect(skipped).toEqual({ count: 1, examples: [{ path: 'rep\uFFFD.txt', reason: expect.stringContaining('not valid UTF-8') as string }] });
  });
});
