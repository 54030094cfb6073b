/**
 * Issue 16, items 1 and 7, in the config: a folder's share list and mode, how
 * a config from before share lists is read and written out, the edits that
 * share and unshare, and the rule that no folder holds the Wizard home.
 */
import { describe, expect, it } from 'vitest';
import { addFolder, addPeer, declineFolder, materialiseShareLists, pairPeer, setFolderMode, setFolderPaused, shareFolder, undeclineFolder, unshareFolder } from '../../src/config/edit.js';
import { commonFolders, foldersSharedWith, shareKey } from '../../src/config/shares.js';
import { folderOffers } from '../../src/status/offers.js';
import { type Config, parseConfig } from '../../src/config/schema.js';
import { configErrorOf as errorOf } from '../support/config-error.js';

const FILE = 'config.yaml';
const HOME_DIR = '/home/ada';
const idA = 'a'.repeat(64);
const idB = 'b'.repeat(64);
const idC = 'c'.repeat(64);

function parse(text: string, home?: string, realPath?: (p: string) => string): Config {
  return parseConfig(text, FILE, { homeDir: HOME_DIR, home, realPath });
}

const peers = `peers:\n  - id: ${idA}\n    name: laptop\n  - id: ${idB}\n    name: server\n`;
const legacy = `name: n\nfolders:\n  - id: docs\n    path: /srv/docs\n  - id: pics\n    path: /srv/pics\n${peers}`;

describe('share lists', () => {
  it('reads a config from before share lists as every folder shared with every peer, as it then behaved', () => {
    expect(parse(legacy).folders.map((f) => f.shareWith)).toEqual([[idA, idB], [idA, idB]]);
  });

  it('reads a folder without a list as shared with nobody once any folder has one', () => {
    const text = `name: n\nfolders:\n  - id: docs\n    path: /srv/docs\n    shareWith: [${idA}]\n  - id: pics\n    path: /srv/pics\n${peers}`;
    expect(parse(text).folders.map((f) => f.shareWith)).toEqual([[idA], []]);
  });

  it('writes the lists of an old config out once, keeping what it shared, and then has nothing more to write', () => {
    const written = materialiseShareLists(legacy);
    expect(written).not.toBeNull();
    expect(parse(written ?? '').folders.map((f) => f.shareWith)).toEqual([[idA, idB], [idA, idB]]);
    expect(written).toContain(`shareWith: [ ${idA}, ${idB} ]`);
    expect(materialiseShareLists(written ?? '')).toBeNull();
  });

  it('writes the lists out before an edit, so a peer paired later shares nothing it was not given', () => {
    const paired = addPeer(legacy, { id: idC, name: 'desk', address: '' });
    expect(parse(paired).folders.map((f) => f.shareWith)).toEqual([[idA, idB], [idA, idB]]);
    expect(parse(shareFolder(paired, 'docs', idC)).folders.map((f) => f.shareWith)).toEqual([[idA, idB, idC], [idA, idB]]);
  });

  it('shares and unshares one folder with one peer, twice changing nothing more', () => {
    const base = addFolder(`name: n\n${peers}`, { id: 'docs', path: '/srv/docs', shareWith: [], mode: 'send-receive' });
    expect(parse(base).folders[0]?.shareWith).toEqual([]);
    const shared = shareFolder(shareFolder(base, 'docs', idA.toUpperCase()), 'docs', idA);
    expect(parse(shared).folders[0]?.shareWith).toEqual([idA]);
    expect(parse(unshareFolder(unshareFolder(shared, 'docs', idA), 'docs', idA)).folders[0]?.shareWith).toEqual([]);
  });

  it('says which folder is missing when sharing one that is not listed', () => {
    expect(errorOf(() => shareFolder(legacy, 'music', idA)).message).toBe('no folder music in config.yaml');
  });

  it('sets a folder mode', () => {
    expect(parse(setFolderMode(legacy, 'pics', 'receive-only')).folders.map((f) => f.mode)).toEqual(['send-receive', 'receive-only']);
  });
});

describe('paused folders', () => {
  const shared = `name: n\nfolders:\n  - id: docs\n    path: /srv/docs # the papers\n    shareWith: [${idA}]\n  - id: pics\n    path: /srv/pics\n    shareWith: [${idA}]\n${peers}`;

  it('pauses a folder and unpauses it, keeping the comments, and leaves no key behind once unpaused', () => {
    const paused = setFolderPaused(shared, 'docs', true);
    expect(parse(paused).folders.map((f) => f.paused === true)).toEqual([true, false]);
    expect(paused).toContain('path: /srv/docs # the papers');
    const unpaused = setFolderPaused(setFolderPaused(paused, 'docs', false), 'docs', false);
    expect(parse(unpaused).folders).toEqual(parse(shared).folders);
    expect(unpaused).not.toContain('paused');
  });

  it('shares a paused folder with nobody, and restarts a link when a folder it shares pauses or unpauses', () => {
    const paused = parse(setFolderPaused(shared, 'docs', true));
    expect(foldersSharedWith(paused, idA).map((f) => f.id)).toEqual(['pics']);
    expect(shareKey(paused, idA)).not.toBe(shareKey(parse(shared), idA));
    expect(shareKey(parse(setFolderPaused(setFolderPaused(shared, 'docs', true), 'docs', false)), idA)).toBe(shareKey(parse(shared), idA));
  });

  it('refuses a paused value that is not true or false, in one line at the value', () => {
    const err = errorOf(() => parse(shared.replace('    shareWith: [' + idA + ']\n  - id: pics', '    shareWith: [' + idA + ']\n    paused: yes\n  - id: pics')));
    expect(err.message).toBe(`config.yaml:6: folder 'docs' paused must be true or false (got "yes")`);
  });

  it('says which folder is missing when pausing one that is not listed', () => {
    expect(errorOf(() => setFolderPaused(shared, 'music', true)).message).toBe('no folder music in config.yaml');
  });
});

describe('pairing, shares in force, offers and declines', () => {
  const fresh = `name: n\nfolders:\n  - id: docs\n    path: /srv/docs\n    shareWith: []\n  - id: pics\n    path: /srv/pics\n    shareWith: []\n`;

  it('records a pairing with the peer in the share list of the offered folders this node has, and no others', () => {
    const paired = parse(pairPeer(fresh, { id: idA, name: 'laptop', address: 'l:1' }, ['pics', 'music']));
    expect(paired.peers.map((p) => p.id)).toEqual([idA]);
    expect(paired.folders.map((f) => f.shareWith)).toEqual([[], [idA]]);
    expect(commonFolders(paired, ['music', 'pics', 'docs'])).toEqual(['docs', 'pics']);
  });

  it('shares nothing with a node that is not a listed peer, or is revoked, whatever the lists say', () => {
    const listed = parse(shareFolder(pairPeer(fresh, { id: idA, name: 'a', address: '' }, ['docs']), 'docs', idB));
    expect(foldersSharedWith(listed, idA).map((f) => f.id)).toEqual(['docs']);
    expect(foldersSharedWith(listed, idB)).toEqual([]);
    expect(foldersSharedWith({ ...listed, revoked: [idA] }, idA)).toEqual([]);
    // A link restarts exactly when what it shares changes: a share, a path, a mode.
    const moved = parse(pairPeer(fresh, { id: idA, name: 'a', address: '' }, ['docs']).replace('/srv/docs', '/srv/docs2'));
    expect(shareKey(moved, idA)).not.toBe(shareKey(listed, idA));
    expect(shareKey(parse(setFolderMode(pairPeer(fresh, { id: idA, name: 'a', address: '' }, ['docs']), 'pics', 'send-only')), idA)).toBe(shareKey(listed, idA));
  });

  it('offers the folders a connected peer names that this node lacks, marks declined ones, and never offers one it has', () => {
    const config = parse(pairPeer(pairPeer(declineFolder(fresh, 'old'), { id: idA, name: 'a', address: '' }, []), { id: idB, name: 'b', address: '' }, []));
    const offers = folderOffers(config, [
      { peer: idB, folders: ['music', 'docs', 'old'] },
      { peer: idA, folders: ['music'] },
      { peer: idC, folders: ['stranger'] },
    ]);
    expect(offers).toEqual([
      { folder: 'music', peers: [idA, idB], declined: false },
      { folder: 'old', peers: [idB], declined: true },
    ]);
    expect(parse(undeclineFolder(declineFolder(declineFolder(fresh, 'old'), 'old'), 'old')).declinedFolders).toEqual([]);
    expect(parse(declineFolder(declineFolder(fresh, 'old'), 'old')).declinedFolders).toEqual(['old']);
  });
});

describe('keys never sync', () => {
  const folder = (path: string) => `name: n\nfolders:\n  - id: f\n    path: ${path}\n    shareWith: []\n`;
  it.each([
    { what: 'is the home', path: '/home/ada/.wizard', says: 'contains the Wizard home /home/ada/.wizard' },
    { what: 'contains the home', path: '/home/ada', says: 'contains the Wizard home /home/ada/.wizard' },
    { what: 'lies inside the home', path: '/home/ada/.wizard/docs', says: 'is inside the Wizard home /home/ada/.wizard' },
  ])('refuses a folder that $what, in one line at the path', ({ path, says }) => {
    const err = errorOf(() => parse(folder(path), '/home/ada/.wizard'));
    expect(err.message).toContain(`config.yaml:4: folder 'f' path ${path} ${says}`);
    expect(err.message).not.toContain('\n');
  });

  it('refuses a folder whose symlinks lead to the home', () => {
    const realPath = (p: string) => (p.startsWith('/data/link') ? p.replace('/data/link', '/home/ada') : p);
    expect(errorOf(() => parse(folder('/data/link'), '/home/ada/.wizard', realPath)).message).toContain('contains the Wizard home');
  });

  it('takes a folder beside the home', () => {
    expect(parse(folder('/home/ada/Documents'), '/home/ada/.wizard').folders[0]?.path).toBe('/home/ada/Documents');
  });
});
