/**
 * P4/P5 (issue 15, item 2): which symlinks a peer may have us create. The
 * text rule refuses a climb after a name, since the name may itself be a
 * link; the disk rule follows the links already in the folder. Together no
 * link Wizard makes resolves outside the folder, alone or chained with others.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkTargetEscape, linkTargetProblem } from '../../src/sync/disk/link-target.js';

describe('P5: linkTargetProblem (the text alone)', () => {
  it.each([
    { link: 'a/link', target: 'b', refused: false, why: 'a sibling' },
    { link: 'a/link', target: '../b', refused: false, why: 'one level up from depth 1' },
    { link: 'a/b/link', target: '../../c/d', refused: false, why: 'a climb that stays in, then down' },
    { link: 'a/link', target: './b/', refused: false, why: '"." and a trailing slash are no climb' },
    { link: 'x/up', target: '..', refused: false, why: 'the folder root itself' },
    { link: 'a/link', target: '../../b', refused: true, why: 'climbs past the root' },
    { link: 'link', target: '..', refused: true, why: 'the dir above the root' },
    { link: 'link', target: '/etc/passwd', refused: true, why: 'absolute' },
    { link: 'link', target: '', refused: true, why: 'empty' },
    { link: 'link', target: 'a\\b', refused: true, why: 'a backslash' },
    { link: 'link', target: 'a\0b', refused: true, why: 'NUL' },
    { link: 'link', target: '.wizard/trash', refused: true, why: "Wizard's own dir" },
    { link: 'a/link', target: '../.Wizard', refused: true, why: "Wizard's own dir in another case" },
    { link: 'a/link', target: '.wizard', refused: false, why: 'a dir named .wizard below the root is the user\'s' },
    { link: 'n', target: 'x/up/../home/certs', refused: true, why: 'the review\'s chain: a climb after a name' },
    { link: 'a/b/link', target: '../../c/../d', refused: true, why: 'a climb after a name, even one that reads as inside' },
    { link: 'link', target: 'foo/..', refused: true, why: 'a trailing climb after a name (rsync CVE-2024-12088)' },
  ])('$link -> $target: refused $refused ($why)', ({ link, target, refused }) => {
    expect(linkTargetProblem(link, target) !== undefined).toBe(refused);
  });
});

describe('P4/P5: linkTargetEscape (the links already on disk)', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeEach(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'wizard-link-target-'));
    root = path.join(base, 'folder');
    outside = path.join(base, 'outside');
    mkdirSync(path.join(root, '.wizard'), { recursive: true });
    mkdirSync(outside);
  });

  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses a link through a link the user made to a dir outside the folder', () => {
    symlinkSync(outside, path.join(root, 'ext'));
    expect(linkTargetEscape(root, 'n', 'ext/x')).toMatch(/out of the folder through ext/);
    expect(linkTargetEscape(root, 'n', 'ext')).toMatch(/out of the folder/);
  });

  it('refuses a link through a relative user link that climbs out', () => {
    mkdirSync(path.join(root, 'a'));
    symlinkSync('../../outside', path.join(root, 'a', 'out'));
    expect(linkTargetEscape(root, 'a/n', 'out/secret')).toMatch(/out of the folder/);
  });

  it('takes a link through a user link that stays inside, absolute or relative', () => {
    mkdirSync(path.join(root, 'real', 'sub'), { recursive: true });
    symlinkSync(path.join(realpathSync(root), 'real'), path.join(root, 'abs-in'));
    symlinkSync('real', path.join(root, 'rel-in'));
    expect(linkTargetEscape(root, 'n', 'abs-in/sub')).toBeUndefined();
    expect(linkTargetEscape(root, 'm', 'rel-in/sub/not-yet')).toBeUndefined();
  });

  it('refuses a link that reaches .wizard through another link', () => {
    symlinkSync('.wizard', path.join(root, 'w'));
    expect(linkTargetEscape(root, 'n', 'w')).toMatch(/\.wizard/);
  });

  it('takes links made in any order within a batch, dangling ones included, and none of them escapes', () => {
    // m -> a/b before a exists; n -> m; then a/b is made: all inside.
    expect(linkTargetEscape(root, 'm', 'a/b')).toBeUndefined();
    symlinkSync('a/b', path.join(root, 'm'));
    expect(linkTargetEscape(root, 'n', 'm')).toBeUndefined();
    symlinkSync('m', path.join(root, 'n'));
    mkdirSync(path.join(root, 'x'));
    expect(linkTargetEscape(root, 'x/up', '..')).toBeUndefined();
    symlinkSync('..', path.join(root, 'x', 'up'));
    // The review's chain, now with x/up on disk: refused by its text and by the disk.
    expect(linkTargetEscape(root, 'n2', 'x/up/../outside')).toBeDefined();
    expect(linkTargetEscape(root, 'n3', 'x/up/x/up/x')).toBeUndefined();
  });

  it('refuses a link that leads through a loop of links', () => {
    symlinkSync('loop-b', path.join(root, 'loop-a'));
    symlinkSync('loop-a', path.join(root, 'loop-b'));
    expect(linkTargetEscape(root, 'n', 'loop-a/x')).toMatch(/loop/);
  });
});
