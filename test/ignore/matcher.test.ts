import { describe, expect, it } from 'vitest';

import { NO_IGNORES, compileIgnore, isAlwaysIgnored, type IgnoreSource } from '../../src/ignore/matcher.js';

/** The master list, shared by every folder. */
const master: IgnoreSource = { text: '# editor files\n*.swp\n\n.DS_Store\nbuild/\n', base: '' };
/** The folder's root `.wizardignore`. */
const root: IgnoreSource = { text: '*.log\n!keep.log\n/top-only.txt\nnode_modules\ndocs/*.pdf\n', base: '' };
/** `src/.wizardignore`: patterns relative to `src/`. */
const nested: IgnoreSource = { text: 'gen/\n/local.txt\n!important.log\ndeep/*.tmp\n', base: 'src' };

interface Case {
  desc: string;
  path: string;
  isDir: boolean;
  want: boolean;
}

describe('compileIgnore with master, root and nested sources', () => {
  const matcher = compileIgnore([nested, master, root]);
  const cases: Case[] = [
    { desc: 'master pattern at the root', path: 'a.swp', isDir: false, want: true },
    { desc: 'master pattern at any depth', path: 'x/y/.DS_Store', isDir: false, want: true },
    { desc: 'master comment line is not a pattern', path: '# editor files', isDir: false, want: false },
    { desc: 'plain file not matched by anything', path: 'src/main.ts', isDir: false, want: false },
    { desc: 'root pattern at any depth', path: 'x/debug.log', isDir: false, want: true },
    { desc: 'root negation re-includes a file', path: 'x/keep.log', isDir: false, want: false },
    { desc: 'root-anchored pattern at the root', path: 'top-only.txt', isDir: false, want: true },
    { desc: 'root-anchored pattern not below the root', path: 'x/top-only.txt', isDir: false, want: false },
    { desc: 'pattern with a middle slash is anchored', path: 'docs/a.pdf', isDir: false, want: true },
    { desc: 'pattern with a middle slash does not match deeper', path: 'x/docs/a.pdf', isDir: false, want: false },
    { desc: 'name pattern matches a dir', path: 'web/node_modules', isDir: true, want: true },
    { desc: 'dir-only pattern matches a dir', path: 'build', isDir: true, want: true },
    { desc: 'dir-only pattern does not match a file', path: 'build', isDir: false, want: false },
    { desc: 'dir-only pattern matches a dir at depth', path: 'x/build', isDir: true, want: true },
    { desc: 'everything under an ignored dir', path: 'build/out/app.js', isDir: false, want: true },
    { desc: 'under an ignored dir even if a negation names it', path: 'node_modules/keep.log', isDir: false, want: true },
    { desc: 'nested dir-only pattern below its dir', path: 'src/gen', isDir: true, want: true },
    { desc: 'nested dir-only pattern deeper below its dir', path: 'src/a/gen/x.ts', isDir: false, want: true },
    { desc: 'nested pattern does not apply outside its dir', path: 'gen/x.ts', isDir: false, want: false },
    { desc: 'nested anchored pattern in its dir', path: 'src/local.txt', isDir: false, want: true },
    { desc: 'nested anchored pattern not deeper', path: 'src/a/local.txt', isDir: false, want: false },
    { desc: 'nested anchored pattern not at the root', path: 'local.txt', isDir: false, want: false },
    { desc: 'nested negation overrides the root file', path: 'src/a/important.log', isDir: false, want: false },
    { desc: 'nested negation leaves other root matches', path: 'src/a/other.log', isDir: false, want: true },
    { desc: 'nested pattern with a middle slash', path: 'src/deep/x.tmp', isDir: false, want: true },
    { desc: 'nested pattern with a middle slash, not deeper', path: 'src/x/deep/x.tmp', isDir: false, want: false },
    { desc: 'the folder root itself', path: '', isDir: true, want: false },
  ];
  it.each(cases)('$desc: $path', ({ path, isDir, want }) => {
    expect(matcher.isIgnored(path, isDir)).toBe(want);
  });
});

describe('ignored ancestors', () => {
  const cases: Array<{ desc: string; sources: IgnoreSource[]; path: string; want: boolean }> = [
    {
      desc: 'a file below a dir ignored by a name pattern',
      sources: [{ text: 'cache', base: '' }],
      path: 'cache/a/b/c.txt',
      want: true,
    },
    {
      desc: 'a negation cannot re-include a file inside an excluded dir',
      sources: [{ text: 'out/\n!out/keep.txt', base: '' }],
      path: 'out/keep.txt',
      want: true,
    },
    {
      desc: 'a nested file cannot re-include what a shallower one excluded by dir',
      sources: [
        { text: 'vendor/', base: '' },
        { text: '!lib.js', base: 'vendor' },
      ],
      path: 'vendor/lib.js',
      want: true,
    },
    {
      desc: 'a dir re-included by a later negation lets its files through',
      sources: [
        { text: 'tmp/', base: '' },
        { text: '!tmp/', base: '' },
      ],
      path: 'tmp/a.txt',
      want: false,
    },
    {
      desc: 'the master list excludes a dir and the root file re-includes it',
      sources: [
        { text: 'dist/', base: '' },
        { text: '!dist/', base: '' },
      ],
      path: 'dist/x/y.js',
      want: false,
    },
    {
      desc: 'a directory matched only by contents (dir/*) re-includes a negated child',
      sources: [{ text: 'assets/*\n!assets/logo.png', base: '' }],
      path: 'assets/logo.png',
      want: false,
    },
    {
      desc: 'a pattern for a nested dir name with glob characters in the base',
      sources: [{ text: 'x.bin', base: 'we[ir]d*dir' }],
      path: 'we[ir]d*dir/sub/x.bin',
      want: true,
    },
    {
      desc: 'glob characters in the base are not wildcards',
      sources: [{ text: 'x.bin', base: 'we[ir]d*dir' }],
      path: 'weid-dir/x.bin',
      want: false,
    },
    {
      desc: 'matching is case-sensitive',
      sources: [{ text: 'README', base: '' }],
      path: 'readme',
      want: false,
    },
  ];
  it.each(cases)('$desc', ({ sources, path, want }) => {
    expect(compileIgnore(sources).isIgnored(path, false)).toBe(want);
  });
});

describe('always ignored', () => {
  const cases: Array<{ desc: string; path: string; isDir: boolean; want: boolean }> = [
    { desc: '.wizard at the root', path: '.wizard', isDir: true, want: true },
    { desc: 'inside .wizard', path: '.wizard/trash/a.txt', isDir: false, want: true },
    { desc: '.wizard below the root is a user dir', path: 'a/.wizard', isDir: true, want: false },
    { desc: 'a name that only starts with .wizard', path: '.wizardignore', isDir: false, want: false },
    { desc: 'a temp name at the root', path: '.~wizard-123abc.tmp', isDir: false, want: true },
    { desc: 'a temp name at depth', path: 'a/b/.~wizard-x.tmp', isDir: false, want: true },
    { desc: 'a temp-like name without the .tmp suffix', path: 'a/.~wizard-x.txt', isDir: false, want: false },
    { desc: 'a user file', path: 'notes.txt', isDir: false, want: false },
  ];
  it.each(cases)('$desc: $path', ({ path, isDir, want }) => {
    expect(isAlwaysIgnored(path)).toBe(want);
    expect(NO_IGNORES.isIgnored(path, isDir)).toBe(want);
    expect(compileIgnore([{ text: '!.wizard\n!*.tmp\n!.wizard/**', base: '' }]).isIgnored(path, isDir)).toBe(want);
  });
});

describe('compileIgnore: the rules compiled afresh every few questions (the package keeps every answer)', () => {
  it('answers as a matcher that never starts afresh, across many fresh starts, for files, dirs and paths below ignored dirs', () => {
    const sources = [
      { text: 'build/\n*.log\n!keep.log\n', base: '' },
      { text: 'local/\n', base: 'sub' },
    ];
    const once = compileIgnore(sources, Number.MAX_SAFE_INTEGER);
    const often = compileIgnore(sources, 3);
    const paths: Array<[string, boolean]> = [];
    for (const d of ['build', 'src', 'sub', 'sub/local', 'sub/other', '.wizard']) {
      paths.push([d, true]);
      for (const f of ['a.txt', 'b.log', 'keep.log', 'deep/c.txt']) paths.push([`${d}/${f}`, false]);
    }
    const answers = (m: ReturnType<typeof compileIgnore>) => paths.map(([p, isDir]) => m.isIgnored(p, isDir));
    expect(answers(often)).toEqual(answers(once));
    expect(answers(once).filter(Boolean).length).toBeGreaterThan(10);
    expect(answers(once).filter((x) => !x).length).toBeGreaterThan(10);
  });
});

describe('a rule set without rules of the user', () => {
  it('answers without the package exactly as the package answers, and any line that is not empty or a comment is a rule', () => {
    const builtIn = [compileIgnore([]), compileIgnore([{ text: '# only comments\n\n#x\r\n', base: '' }, { text: '# nested comment\n', base: 'a' }])];
    // A rule that names nothing below: the package answers every question.
    const packaged = compileIgnore([{ text: 'zz-never-named-zz', base: '' }]);
    const paths = ['.wizard', '.wizard/x', '.Wizard', 'a/.wizard', '.~wizard-1.tmp', 'a/.~wizard-x.tmp', 'a/.~wizard-x.tmp/b', '.~wizard-.tmp', 'x.~wizard-a.tmp', '.~wizard-a.tmpx', 'plain', 'a/b/c', '#hash', ' space'];
    for (const m of builtIn) {
      for (const p of paths) {
        for (const isDir of [false, true]) {
          expect(m.isIgnored(p, isDir), `isIgnored ${p} ${isDir}`).toBe(packaged.isIgnored(p, isDir));
          // isChildIgnored is asked only of a child of dirs found not ignored.
          const parents = p.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'));
          if (parents.some((d) => packaged.isIgnored(d, true))) continue;
          expect(m.isChildIgnored(p, isDir), `isChildIgnored ${p} ${isDir}`).toBe(packaged.isChildIgnored(p, isDir));
        }
      }
    }
    expect(builtIn[0]?.isIgnored('a/.~wizard-x.tmp', false)).toBe(true);
    // An escaped '#', and a line of blanks before a name, are rules.
    expect(compileIgnore([{ text: '# c\n\\#lit\n', base: '' }]).isChildIgnored('#lit', false)).toBe(true);
    expect(compileIgnore([{ text: '# c\nnamed\n', base: 'a' }]).isChildIgnored('a/named', false)).toBe(true);
  });
});
