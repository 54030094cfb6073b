import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { BadPathError } from '../../src/core/errors.js';
import { hasOnlyNames, isTempName, isUnder, joinNames, parentOf, plainChildPath, resolveInside, tempNameFor, toRelPath } from '../../src/core/paths.js';
import { LIMITS } from '../../src/protocol/messages.js';

const nfc = 'caf\u00e9';
const nfd = 'cafe\u0301';

function longPath(components: number, componentBytes: number): string {
  return Array.from({ length: components }, () => 'y'.repeat(componentBytes)).join('/');
}

describe('toRelPath', () => {
  /** Accepted inputs: `want` is the NFC path returned. */
  const accepted: { description: string; input: string; want: string }[] = [
    { description: 'one name', input: 'a', want: 'a' },
    { description: 'nested', input: 'a/b/c.txt', want: 'a/b/c.txt' },
    { description: 'dot names that are not . or ..', input: '.hidden/..x/x../...', want: '.hidden/..x/x../...' },
    { description: '.wizard below the top level', input: 'a/.wizard/x', want: 'a/.wizard/x' },
    { description: 'a name that starts with .wizard', input: '.wizardry/x', want: '.wizardry/x' },
    { description: 'a temp name (allowed locally)', input: 'd/.~wizard-f-1.tmp', want: 'd/.~wizard-f-1.tmp' },
    { description: 'colon and spaces', input: 'C:x/a b', want: 'C:x/a b' },
    { description: 'NFC kept', input: `${nfc}/x`, want: `${nfc}/x` },
    { description: 'NFD normalised to NFC', input: `${nfd}/${nfd}`, want: `${nfc}/${nfc}` },
    { description: 'emoji (surrogate pair)', input: '\u{1F600}.txt', want: '\u{1F600}.txt' },
    {
      description: 'component of exactly maxNameBytes',
      input: 'x'.repeat(LIMITS.maxNameBytes),
      want: 'x'.repeat(LIMITS.maxNameBytes),
    },
    // 17 components of 240 bytes plus 16 slashes: 4096 bytes.
    { description: 'path of exactly maxPathBytes', input: longPath(17, 240), want: longPath(17, 240) },
  ];
  for (const c of accepted) {
    it(`accepts ${c.description}`, () => {
      expect(toRelPath(c.input)).toBe(c.want);
    });
  }

  /** Rejected inputs: `rule` is a fragment of the error message. */
  const rejected: { description: string; input: unknown; rule: string }[] = [
    { description: 'a number', input: 42, rule: 'expected a string' },
    { description: 'null', input: null, rule: 'expected a string' },
    { description: 'empty', input: '', rule: 'empty' },
    { description: 'NUL', input: 'a\0b', rule: 'NUL' },
    { description: 'backslash', input: 'a\\b', rule: 'backslash' },
    { description: 'Windows device path', input: '\\\\?\\x', rule: 'backslash' },
    { description: 'absolute', input: '/etc/passwd', rule: 'absolute' },
    { description: 'root', input: '/', rule: 'absolute' },
    { description: 'empty component', input: 'a//b', rule: 'empty component' },
    { description: 'dot', input: '.', rule: '"." component' },
    { description: 'dot-dot', input: '..', rule: '".." component' },
    { description: 'leading ./', input: './a', rule: '"." component' },
    { description: 'trailing /.', input: 'a/.', rule: '"." component' },
    { description: 'leading ../', input: '../x', rule: '".." component' },
    { description: 'escaping .. in the middle', input: 'a/../../x', rule: '".." component' },
    { description: 'trailing /..', input: 'foo/..', rule: '".." component' },
    { description: 'trailing slash', input: 'a/', rule: 'trailing' },
    {
      description: 'component over maxNameBytes',
      input: `a/${'x'.repeat(LIMITS.maxNameBytes + 1)}`,
      rule: 'component longer',
    },
    {
      description: 'component over maxNameBytes in UTF-8 bytes',
      input: '\u00e9'.repeat(128),
      rule: 'component longer',
    },
    { description: 'path over maxPathBytes', input: longPath(17, 241), rule: 'longer than 4096' },
    { description: 'a megabyte string', input: 'm'.repeat(1024 * 1024), rule: 'longer than 4096' },
    { description: '.wizard itself', input: '.wizard', rule: '.wizard' },
    { description: 'under .wizard', input: '.wizard/index.db', rule: '.wizard' },
    { description: '.wizard in another case', input: '.Wizard/x', rule: '.wizard' },
    { description: 'newline', input: 'a\nb', rule: 'control character' },
    { description: 'carriage return', input: 'a\rb', rule: 'control character' },
    { description: 'escape', input: 'a\u001bb', rule: 'control character' },
    { description: 'DEL', input: 'a\u007fb', rule: 'control character' },
    { description: 'lone high surrogate', input: 'a\uD800b', rule: 'lone surrogate' },
    { description: 'lone low surrogate', input: '\uDC00', rule: 'lone surrogate' },
  ];
  for (const c of rejected) {
    it(`P1/P2: rejects ${c.description}`, () => {
      expect(() => toRelPath(c.input)).toThrow(BadPathError);
      expect(() => toRelPath(c.input)).toThrow(c.rule);
    });
  }

  it('checks the byte limit on the NFC form', () => {
    // 128 × "e + combining acute" is 384 bytes in NFD but 256 in NFC: still too long.
    expect(() => toRelPath('e\u0301'.repeat(128))).toThrow('component longer');
    // 127 of them compose to 254 bytes, within the limit, although the NFD input is 381 bytes.
    expect(toRelPath('e\u0301'.repeat(127))).toBe('\u00e9'.repeat(127));
  });
});

describe('plainChildPath', () => {
  it('gives what toRelPath gives of the joined path whenever it answers, and leaves to toRelPath every name it refuses or normalizes', () => {
    const long = (n: number) => 'n'.repeat(n);
    // A valid parent (components of 200 bytes) 12 bytes short of the longest path: names of 10, 11 and 12 bytes fit, not quite fit, do not fit.
    const components = Math.ceil((LIMITS.maxPathBytes - 12) / 201);
    const deep = Array.from({ length: components }, (_, i) => (i === components - 1 ? long(LIMITS.maxPathBytes - 12 - 201 * (components - 1)) : long(200))).join('/');
    expect(toRelPath(deep)).toBe(deep);
    expect(deep.length).toBe(LIMITS.maxPathBytes - 12);
    const parents = ['', 'a', 'caf\u00e9/d', '.wizardish', deep];
    const names = [
      'plain.txt', 'with space', '~!@#$%^&()[]{};,=+', '.', '..', '...', '.wizard', '.WIZARD', '.Wizard', 'a\\b', 'a\u0000b', 'tab\tname', 'del\u007f',
      'cafe\u0301', 'caf\u00e9', '\ud800', long(LIMITS.maxNameBytes), long(LIMITS.maxNameBytes + 1), long(10), long(11), long(12), '',
    ];
    let answered = 0;
    for (const parent of parents) {
      for (const name of names) {
        const joined = parent === '' ? name : `${parent}/${name}`;
        let whole: string | Error;
        try {
          whole = toRelPath(joined);
        } catch (err) {
          whole = err as Error;
        }
        const fast = plainChildPath(parent, Buffer.byteLength(parent), name);
        if (fast === undefined) continue;
        answered++;
        expect(fast, `${JSON.stringify(parent)} + ${JSON.stringify(name)}`).toBe(whole);
      }
    }
    // It answers for the plain names and leaves the rest: refused, too long, not ASCII, .wizard at the root.
    expect(answered).toBeGreaterThan(20);
    expect(plainChildPath('', 0, '.wizard')).toBeUndefined();
    expect(plainChildPath('', 0, 'cafe\u0301')).toBeUndefined();
    expect(plainChildPath('a', 1, 'a\\b')).toBeUndefined();
  });
});

describe('temp names', () => {
  const cases: { description: string; name: string; want: boolean }[] = [
    { description: 'a generated name', name: tempNameFor('report.pdf', 'abc123'), want: true },
    { description: 'prefix and suffix only', name: '.~wizard-.tmp', want: true },
    { description: 'no suffix', name: '.~wizard-x', want: false },
    { description: 'no prefix', name: 'x.tmp', want: false },
    { description: 'prefix without the dot', name: '~wizard-x.tmp', want: false },
    { description: 'a user file', name: 'notes.txt', want: false },
  ];
  for (const c of cases) {
    it(`isTempName: ${c.description}`, () => {
      expect(isTempName(c.name)).toBe(c.want);
    });
  }

  it('tempNameFor keeps short names whole', () => {
    expect(tempNameFor('a.txt', 'r1')).toBe('.~wizard-a.txt-r1.tmp');
  });

  it('tempNameFor cuts long basenames to 255 bytes', () => {
    const name = tempNameFor('x'.repeat(255), 'rnd');
    expect(Buffer.byteLength(name)).toBe(255);
    expect(name.endsWith('-rnd.tmp')).toBe(true);
    expect(isTempName(name)).toBe(true);
  });

  it('tempNameFor never splits a multi-byte character', () => {
    const name = tempNameFor('\u{1F600}'.repeat(80), 'rnd');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name).not.toContain('\uFFFD');
    expect(() => toRelPath(name)).not.toThrow();
  });
});

describe('resolveInside', () => {
  const root = path.resolve('/srv/folder');

  it('joins a valid path under the root', () => {
    expect(resolveInside(root, 'a/b.txt')).toBe(path.join(root, 'a', 'b.txt'));
  });

  it('returns the NFC form', () => {
    expect(resolveInside(root, nfd)).toBe(path.join(root, nfc));
  });

  const rejected: { description: string; rel: string }[] = [
    { description: 'traversal', rel: '../etc/passwd' },
    { description: 'absolute', rel: '/etc/passwd' },
    { description: 'the root itself', rel: '' },
    { description: 'Wizard dir', rel: '.wizard/x' },
  ];
  for (const c of rejected) {
    it(`rejects ${c.description}`, () => {
      expect(() => resolveInside(root, c.rel)).toThrow(BadPathError);
    });
  }
});

describe('joinNames', () => {
  const roots = ['/srv/folder', '/srv/folder/', '/srv//folder/./x/..', '/', '.', '', 'rel/root', '../up', '/srv/a b/ü'];
  const rels = ['a', 'a/b.txt', '...', 'a/.../b', '.hidden/x', 'a/..b', 'a/b..', '', '.', '..', 'a/..', '../x', 'a//b', 'a/./b', '/abs', 'a/', 'a/b/../../..'];

  it("gives path.join's result for every root and path, names only or not", () => {
    for (const root of roots) for (const rel of rels) expect(joinNames(root, rel), `${root} + ${rel}`).toBe(path.join(root, ...rel.split('/')));
  });

  it('takes a path as names only when no component is empty, "." or ".."', () => {
    expect(rels.filter(hasOnlyNames)).toEqual(['a', 'a/b.txt', '...', 'a/.../b', '.hidden/x', 'a/..b', 'a/b..']);
  });
});

describe('parentOf and isUnder', () => {
  const parents: { rel: string; want: string }[] = [
    { rel: 'a', want: '' },
    { rel: 'a/b', want: 'a' },
    { rel: 'a/b/c', want: 'a/b' },
  ];
  for (const c of parents) {
    it(`parentOf(${JSON.stringify(c.rel)}) is ${JSON.stringify(c.want)}`, () => {
      expect(parentOf(c.rel)).toBe(c.want);
    });
  }

  const under: { description: string; p: string; dir: string; want: boolean }[] = [
    { description: 'the dir itself', p: 'a', dir: 'a', want: true },
    { description: 'a child', p: 'a/b', dir: 'a', want: true },
    { description: 'a grandchild', p: 'a/b/c', dir: 'a', want: true },
    { description: 'a sibling sharing a prefix', p: 'ab/c', dir: 'a', want: false },
    { description: 'the parent', p: 'a', dir: 'a/b', want: false },
    { description: 'anything under the root', p: 'x/y', dir: '', want: true },
  ];
  for (const c of under) {
    it(`isUnder: ${c.description}`, () => {
      expect(isUnder(c.p, c.dir)).toBe(c.want);
    });
  }
});
