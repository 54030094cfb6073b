/**
 * locate: a path as typed (from the working dir, absolute, or folder-relative) to a folder and a relative path.
 */
import { describe, expect, it } from 'vitest';
import { locate, pathPattern } from '../../src/cli/locate.js';
import type { Config } from '../../src/config/schema.js';
import { DEFAULTS } from '../../src/config/schema.js';

const config = (folders: Config['folders']): Config => ({ ...DEFAULTS, limits: { ...DEFAULTS.limits }, trash: { ...DEFAULTS.trash }, log: { ...DEFAULTS.log }, name: 'n', folders, peers: [], revoked: [], declinedFolders: [] });
const two = config([{ id: 'docs', path: '/srv/docs', shareWith: [], mode: 'send-receive' }, { id: 'pics', path: '/srv/pics', shareWith: [], mode: 'send-receive' }]);
const one = config([{ id: 'docs', path: '/srv/docs', shareWith: [], mode: 'send-receive' }]);

describe('locate', () => {
  const cases: Array<{ what: string; cfg: Config; input: string; folder?: string; cwd: string; want: { folder: string; rel: string } | RegExp }> = [
    { what: 'an absolute path in a folder', cfg: two, input: '/srv/pics/a/b.jpg', cwd: '/', want: { folder: 'pics', rel: 'a/b.jpg' } },
    { what: 'a path from the working dir', cfg: two, input: 'x.txt', cwd: '/srv/docs/sub', want: { folder: 'docs', rel: 'sub/x.txt' } },
    { what: 'a folder-relative path with --folder', cfg: two, input: 'x.txt', folder: 'pics', cwd: '/home', want: { folder: 'pics', rel: 'x.txt' } },
    { what: 'a folder-relative path when there is one folder', cfg: one, input: './a//b.txt', cwd: '/home', want: { folder: 'docs', rel: 'a/b.txt' } },
    { what: 'a path outside every folder, with two folders', cfg: two, input: 'x.txt', cwd: '/home', want: /not inside a synced folder/ },
    { what: 'a relative path that climbs out', cfg: one, input: '../etc/passwd', cwd: '/home', want: /not a path inside folder 'docs'/ },
    { what: 'an unknown --folder', cfg: two, input: 'x', folder: 'nope', cwd: '/', want: /no folder 'nope'/ },
    { what: 'the folder root itself', cfg: two, input: '/srv/docs', cwd: '/', want: /not inside a synced folder/ },
  ];
  it.each(cases)('$what', (c) => {
    const run = () => locate(c.cfg, c.input, { folder: c.folder, cwd: c.cwd });
    if (c.want instanceof RegExp) expect(run).toThrow(c.want);
    else {
      const got = run();
      expect({ folder: got.folder.id, rel: got.rel }).toEqual(c.want);
    }
  });
});

describe('pathPattern', () => {
  const cases = [
    { pattern: '*.txt', path: 'a/b/c.txt', matches: true },
    { pattern: '*.txt', path: 'a/b/c.md', matches: false },
    { pattern: 'docs/*.md', path: 'docs/a.md', matches: true },
    { pattern: 'docs/*.md', path: 'docs/x/a.md', matches: false },
    { pattern: 'docs/**', path: 'docs/x/a.md', matches: true },
    { pattern: 'a?.txt', path: 'ab.txt', matches: true },
    { pattern: 'a.(txt)', path: 'a.(txt)', matches: true },
  ];
  it.each(cases)('$pattern on $path is $matches', (c) => {
    expect(pathPattern(c.pattern)(c.path)).toBe(c.matches);
  });
});
