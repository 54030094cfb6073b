import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { ConfigWatcher, configPath, editConfig, ignorePath, readConfig, writeConfigText } from '../../src/config/file.js';
import { addPeer } from '../../src/config/edit.js';
import type { Config } from '../../src/config/schema.js';
import { canMountTmpfs, fillDisk, mountTmpfs, NO_TMPFS_REASON, unmount } from '../support/tmpfs.js';
import { configErrorOf as errorOf } from '../support/config-error.js';

const HOME_DIR = '/home/ada';
const idA = 'a'.repeat(64);

let home: string;
let watchers: ConfigWatcher[];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'wizard-config-'));
  watchers = [];
});

afterEach(() => {
  for (const w of watchers) w.stop();
  rmSync(home, { recursive: true, force: true });
});

/** Polls every 10 ms until `cond` holds; fails after `timeoutMs`. */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Saves the way editors do: write a sibling file, then rename it over the config. */
function saveLikeEditor(text: string): void {
  const tmp = join(home, '.config.yaml.swp');
  writeFileSync(tmp, text);
  renameSync(tmp, configPath(home));
}

describe('paths', () => {
  it('puts the config and the ignore list in the home dir', () => {
    expect(configPath('/n')).toBe('/n/config.yaml');
    expect(ignorePath('/n')).toBe('/n/ignore');
  });
});

describe('readConfig', () => {
  it('says how to create a missing config', () => {
    const err = errorOf(() => readConfig(home, { homeDir: HOME_DIR }));
    expect(err.message).toBe(`no config in ${home}: run 'wizard init --home ${home}' first`);
  });

  it('returns the config and its text', () => {
    writeConfigText(home, 'name: n\n');
    expect(readConfig(home, { homeDir: HOME_DIR })).toMatchObject({ text: 'name: n\n', config: { name: 'n' } });
  });

  it('names the full path and line of a problem', () => {
    writeConfigText(home, 'name: n\nlimits:\n  transfers: 0\n');
    expect(errorOf(() => readConfig(home, { homeDir: HOME_DIR })).message.startsWith(`${configPath(home)}:3: limits.transfers`)).toBe(true);
  });
});

describe('writeConfigText', () => {
  it('writes mode 0600 and leaves no temp file behind', () => {
    writeConfigText(home, 'name: one\n');
    writeConfigText(home, 'name: two\n');
    expect(readFileSync(configPath(home), 'utf8')).toBe('name: two\n');
    expect(statSync(configPath(home)).mode & 0o777).toBe(0o600);
    expect(readdirSync(home)).toEqual(['config.yaml']);
  });

  it('fails with a ConfigError when the dir is missing', () => {
    expect(errorOf(() => writeConfigText(join(home, 'absent'), 'name: n\n')).message).toContain('cannot write');
  });

  // A real full disk: one write() there writes the page that fits and returns a short count without an error.
  it.skipIf(!canMountTmpfs)(`S2: on a nearly full disk the config is never replaced by a truncated one${canMountTmpfs ? '' : ` (skipped: ${NO_TMPFS_REASON})`}`, () => {
    mountTmpfs(home, '64k');
    try {
      const old = '# the old config\nname: old\n';
      writeConfigText(home, old);
      // One page free, and a config that needs two.
      fillDisk(home, 'filler', 4096);
      const next = `name: next\n# ${'x'.repeat(6000)}\n`;
      const err = errorOf(() => writeConfigText(home, next));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/^cannot write .*config\.yaml: ENOSPC/);
      expect(readFileSync(configPath(home), 'utf8')).toBe(old);
      expect(readdirSync(home).sort()).toEqual(['config.yaml', 'filler']);
    } finally {
      unmount(home);
    }
  });
});

describe('editConfig', () => {
  it('writes a valid edit and returns the new config', () => {
    writeConfigText(home, '# mine\nname: n\n');
    const config = editConfig(home, (t) => addPeer(t, { id: idA, name: 'desk', address: '' }), { homeDir: HOME_DIR });
    expect(config.peers).toEqual([{ id: idA, name: 'desk', address: '' }]);
    expect(readFileSync(configPath(home), 'utf8')).toContain('# mine\nname: n\n');
  });

  it('never writes an edit that makes the config invalid', () => {
    writeConfigText(home, 'name: n\n');
    const err = errorOf(() => editConfig(home, (t) => `${t}limits:\n  transfers: 99\n`, { homeDir: HOME_DIR }));
    expect(err.message).toMatch(/:3: limits\.transfers/);
    expect(readFileSync(configPath(home), 'utf8')).toBe('name: n\n');
  });
});

describe('ConfigWatcher', () => {
  function startWatcher(initial?: Config) {
    const changes: Config[] = [];
    const errors: ConfigError[] = [];
    const w = new ConfigWatcher({
      home,
      homeDir: HOME_DIR,
      onChange: (c) => changes.push(c),
      onError: (e) => errors.push(e),
      initial,
      debounceMs: 20,
    });
    watchers.push(w);
    w.start();
    return { w, changes, errors };
  }

  it('follows a valid edit, reports a bad one with its line and keeps the last good, then takes the fix', async () => {
    writeConfigText(home, 'name: one\n');
    const { w, changes, errors } = startWatcher(readConfig(home, { homeDir: HOME_DIR }).config);
    expect(changes).toEqual([]);

    saveLikeEditor('name: two\n');
    await until(() => changes.length === 1, 'onChange after a valid edit');
    expect(changes[0]?.name).toBe('two');

    saveLikeEditor('name: two\nlimits:\n  transfers: 0\n');
    await until(() => errors.length >= 1, 'onError after an invalid edit');
    expect(errors[0]?.message.startsWith(`${configPath(home)}:3: `)).toBe(true);
    expect(errors[0]?.line).toBe(3);
    expect(w.lastGood?.name).toBe('two');
    expect(w.lastGood?.limits.transfers).toBe(4);

    saveLikeEditor('name: two\nlimits:\n  transfers: 8\n');
    await until(() => changes.length === 2, 'onChange after the fix');
    expect(changes[1]?.limits.transfers).toBe(8);
    expect(w.lastGood?.limits.transfers).toBe(8);
  });

  it('ignores an edit that changes only comments', async () => {
    writeConfigText(home, 'name: one\n');
    const { w, changes } = startWatcher(readConfig(home, { homeDir: HOME_DIR }).config);
    saveLikeEditor('# a note\nname: one\n');
    // Forces a read of the comment-only save, whatever the watcher's timing.
    w.reload();
    saveLikeEditor('# a note\nname: three\n');
    await until(() => changes.length === 1, 'onChange after a real edit');
    expect(changes.map((c) => c.name)).toEqual(['three']);
  });

  it('reports the first read when started without an initial config', async () => {
    writeConfigText(home, 'name: one\n');
    const { changes, w } = startWatcher();
    await until(() => changes.length === 1, 'onChange for the first read');
    expect(w.lastGood?.name).toBe('one');
  });

  it('reload() picks up an edit at once and reports a missing file without losing the last good', () => {
    writeConfigText(home, 'name: one\n');
    const { w, errors } = startWatcher(readConfig(home, { homeDir: HOME_DIR }).config);
    w.stop();
    writeConfigText(home, 'name: two\n');
    expect(w.reload()?.name).toBe('two');
    rmSync(configPath(home));
    expect(w.reload()?.name).toBe('two');
    expect(errors.at(-1)?.message).toContain('no config in');
  });

  it('turns a throwing onChange into an onError instead of throwing', () => {
    writeConfigText(home, 'name: one\n');
    const errors: ConfigError[] = [];
    const w = new ConfigWatcher({
      home,
      homeDir: HOME_DIR,
      onChange: () => {
        throw new Error('boom');
      },
      onError: (e) => errors.push(e),
    });
    watchers.push(w);
    expect(() => w.start()).not.toThrow();
    expect(errors.map((e) => e.message)).toEqual(['applying the new config failed: boom']);
    expect(w.lastGood?.name).toBe('one');
  });
});
