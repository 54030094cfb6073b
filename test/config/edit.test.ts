import { describe, expect, it } from 'vitest';
import { addFolder, addPeer, removeFolder, removePeer, revokePeer, setSettings } from '../../src/config/edit.js';
import { type Config, DEFAULTS, parseConfig, renderNewConfig } from '../../src/config/schema.js';
import { configErrorOf as errorOf } from '../support/config-error.js';

const FILE = 'config.yaml';
const HOME_DIR = '/home/ada';
const idA = 'a'.repeat(64);
const idB = 'b'.repeat(64);

function parse(text: string): Config {
  return parseConfig(text, FILE, { homeDir: HOME_DIR });
}

/** A config as a user might have edited it: comments, odd quoting, flow maps. */
const userText = [
  '# my laptop',
  "name: 'ada laptop' # single quotes on purpose",
  'limits: { transfers: 2, hashers: 1 }',
  '',
  '# friends',
  'peers:',
  `  - id: ${idA}`,
  '    name: desk # the big one',
  '    address: desk.lan:7842',
  'log:',
  '  level: debug',
  '',
].join('\n');

function addedLines(before: string, after: string): string[] {
  const remaining = before.split('\n');
  const added: string[] = [];
  for (const line of after.split('\n')) {
    const i = remaining.indexOf(line);
    if (i === 0) remaining.shift();
    else added.push(line);
  }
  expect(remaining, 'every original line is kept, in order').toEqual([]);
  return added;
}

describe('addPeer', () => {
  it('adds a peer and leaves every other line as it was', () => {
    const out = addPeer(userText, { id: idB, name: 'phone', address: '' });
    expect(addedLines(userText, out)).toEqual([`  - id: ${idB}`, '    name: phone', '    address: ""']);
    expect(parse(out).peers).toEqual([
      { id: idA, name: 'desk', address: 'desk.lan:7842' },
      { id: idB, name: 'phone', address: '' },
    ]);
  });

  it('updates a listed peer in place, matching the ID without case', () => {
    const out = addPeer(userText, { id: idA.toUpperCase(), name: 'tower', address: '10.0.0.2:7842' });
    expect(out).toBe(userText.replace('name: desk #', 'name: tower #').replace('desk.lan:7842', '10.0.0.2:7842'));
  });

  it('keeps a known address when the update has none', () => {
    const out = addPeer(userText, { id: idA, name: 'desk', address: '' });
    expect(out).toBe(userText);
  });

  it('adds the first peer to a freshly rendered config as a block list, touching nothing else', () => {
    const fresh = renderNewConfig({ name: 'n', listen: DEFAULTS.listen, folders: [] });
    const out = addPeer(fresh, { id: idB, name: 'desk', address: 'desk:7842' });
    expect(addedLines(fresh.replace('peers: []', 'peers:'), out)).toEqual([`  - id: ${idB}`, '    name: desk', '    address: desk:7842']);
    expect(parse(out).peers).toEqual([{ id: idB, name: 'desk', address: 'desk:7842' }]);
  });

  it('creates the peers list when there is none', () => {
    expect(parse(addPeer('name: n\n', { id: idB, name: '', address: '' })).peers).toEqual([{ id: idB, name: '', address: '' }]);
  });

  it('refuses a revoked node', () => {
    const text = `name: n\nrevoked:\n  - ${idB.toUpperCase()}\n`;
    const err = errorOf(() => addPeer(text, { id: idB, name: 'x', address: '' }));
    expect(err.message).toBe(`node ${idB} is revoked in config.yaml; remove it from 'revoked' to pair again`);
    expect(err.line).toBe(3);
  });

  it('reports a syntax error in the text it edits with its line', () => {
    const err = errorOf(() => addPeer('name: n\npeers: [\n', { id: idB, name: '', address: '' }, 'home/config.yaml'));
    expect(err.message).toMatch(/^home\/config\.yaml:\d+: YAML syntax/);
  });
});

describe('removePeer, addFolder, removeFolder', () => {
  it('removes a peer and keeps the comments around it', () => {
    const out = removePeer(userText, idA.toUpperCase());
    expect(parse(out).peers).toEqual([]);
    expect(out).toContain('# friends');
    expect(out).toContain("name: 'ada laptop' # single quotes on purpose");
  });

  it('refuses to remove a peer that is not listed', () => {
    expect(errorOf(() => removePeer(userText, idB)).message).toContain(`no peer ${idB}`);
  });

  it('adds a folder, then changes its path in place, then removes it', () => {
    const added = addFolder(userText, { id: 'docs', path: '/srv/docs', shareWith: [], mode: 'send-receive' });
    expect(addedLines(userText, added)).toEqual(['folders:', '  - id: docs', '    path: /srv/docs', '    shareWith: []', '    mode: send-receive']);
    // An ID that exists is not moved by accident (issue 20, item 3): only when asked.
    expect(() => addFolder(added, { id: 'docs', path: '/srv/papers', shareWith: [], mode: 'send-receive' })).toThrow("folder 'docs' already exists (at /srv/docs); pass --force to sync it at /srv/papers instead");
    const moved = addFolder(added, { id: 'docs', path: '/srv/papers', shareWith: [], mode: 'send-receive' }, FILE, { replace: true });
    expect(parse(moved).folders).toEqual([{ id: 'docs', path: '/srv/papers', shareWith: [], mode: 'send-receive' }]);
    expect(parse(removeFolder(moved, 'docs')).folders).toEqual([]);
  });

  it('treats folder IDs as case-sensitive', () => {
    const text = addFolder('name: n\n', { id: 'docs', path: '/a', shareWith: [], mode: 'send-receive' });
    expect(errorOf(() => removeFolder(text, 'Docs')).message).toContain('no folder Docs');
  });
});

describe('revokePeer', () => {
  const text = renderNewConfig({ name: 'n', listen: '0.0.0.0:7842', folders: [] });
  it('moves a listed peer to revoked, keeping the comments', () => {
    const withPeer = addPeer(text, { id: idA, name: 'a', address: 'a.local:7842' });
    const next = revokePeer(withPeer, idA.toUpperCase());
    expect(parse(next)).toMatchObject({ peers: [], revoked: [idA] });
    expect(next).toContain('# Node IDs refused even when signed by the CA.');
  });

  it('revokes an unlisted ID once, however often it is asked', () => {
    expect(parse(revokePeer(revokePeer(text, idB), idB)).revoked).toEqual([idB]);
  });
});

describe('setSettings', () => {
  it('sets values by dotted key in a flow map and a new block, keeping every comment', () => {
    const next = setSettings(userText, [
      ['limits.transfers', 8],
      ['limits.bandwidth.up', 1000000],
      ['trash.retentionDays', 7],
    ]);
    const c = parse(next);
    expect([c.limits.transfers, c.limits.hashers, c.limits.bandwidthUp, c.trash.retentionDays]).toEqual([8, 1, 1000000, 7]);
    for (const line of ['# my laptop', "name: 'ada laptop' # single quotes on purpose", '    name: desk # the big one']) expect(next).toContain(line);
  });

  it('writes a value the config refuses as it is, so the validation of the whole file (editConfig) says what is wrong', () => {
    expect(errorOf(() => parse(setSettings(userText, [['limits.transfers', 99]]))).message).toMatch(/^config\.yaml:3: limits\.transfers must be a whole number from 1 to 64 \(got 99\)$/);
  });

  it('refuses a key that is not a name, or one through or onto something other than a single value', () => {
    expect(() => setSettings(userText, [['limits..x', 1]])).toThrow("'limits..x' is not a setting's name");
    expect(() => setSettings(userText, [['limits.transfers.x', 1]])).toThrow('part of it is a single value');
    expect(() => setSettings(userText, [['peers', 1]])).toThrow("'peers' is not a single value in config.yaml; edit the file for it");
  });
});
