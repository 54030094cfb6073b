/**
 * What changed between two configs, in words for the log: a reload says
 * which folders, peers and settings it changes, not only that it applies
 * something.
 */
import type { Config } from './schema.js';

/** Keys compared one by one below; every other key is a setting, compared by its dotted path. */
const LISTS = new Set(['folders', 'peers', 'revoked']);
/** The keys a new config file starts with, in its order; the settings follow. */
const FILE_ORDER = ['name', 'listen', 'trust', 'folders', 'peers', 'revoked'];

/** The changes from `before` to `after`, one line each, in the config file's order. */
export function configDiff(before: Config, after: Config): string[] {
  const out: string[] = [];
  const scalar = (key: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${key}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
  };
  for (const key of [...new Set([...FILE_ORDER, ...Object.keys(after)])] as Array<keyof Config>) {
    if (LISTS.has(key)) {
      if (key === 'folders') out.push(...folderChanges(before, after));
      if (key === 'peers') out.push(...peerChanges(before, after));
      if (key === 'revoked') out.push(...revokedChanges(before, after));
      continue;
    }
    const a: unknown = before[key];
    const b: unknown = after[key];
    if (isRecord(a) && isRecord(b)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)])) scalar(`${key}.${sub}`, a[sub], b[sub]);
    } else {
      scalar(key, a, b);
    }
  }
  return out;
}

function folderChanges(before: Config, after: Config): string[] {
  const out: string[] = [];
  const old = new Map(before.folders.map((f) => [f.id, f]));
  const now = new Map(after.folders.map((f) => [f.id, f]));
  for (const [id, f] of now) {
    const was = old.get(id);
    if (was === undefined) {
      out.push(`folder added: ${id} at ${f.path}`);
      continue;
    }
    if (was.path !== f.path) out.push(`folder ${id} moved: ${was.path} -> ${f.path}`);
    if (was.mode !== f.mode) out.push(`folder ${id} mode: ${was.mode} -> ${f.mode}`);
    if ((was.paused === true) !== (f.paused === true)) out.push(`folder ${id} ${f.paused === true ? 'paused' : 'unpaused'}`);
    const [a, b] = [[...was.shareWith].sort(), [...f.shareWith].sort()];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`folder ${id} shared with: ${a.map((p) => p.slice(0, 16)).join(', ') || 'no peer'} -> ${b.map((p) => p.slice(0, 16)).join(', ') || 'no peer'}`);
  }
  for (const id of old.keys()) if (!now.has(id)) out.push(`folder removed: ${id}`);
  return out;
}

function peerChanges(before: Config, after: Config): string[] {
  const out: string[] = [];
  const who = (p: { id: string; name: string }) => `${p.name === '' ? '(no name)' : p.name} (${p.id.slice(0, 16)})`;
  const old = new Map(before.peers.map((p) => [p.id, p]));
  const now = new Map(after.peers.map((p) => [p.id, p]));
  for (const p of now.values()) {
    const was = old.get(p.id);
    if (was === undefined) {
      out.push(`peer added: ${who(p)}${p.address === '' ? '' : ` at ${p.address}`}`);
      continue;
    }
    if (was.name !== p.name) out.push(`peer ${who(p)} renamed from ${JSON.stringify(was.name)}`);
    if (was.address !== p.address) out.push(`peer ${who(p)} address: ${JSON.stringify(was.address)} -> ${JSON.stringify(p.address)}`);
  }
  for (const p of old.values()) if (!now.has(p.id)) out.push(`peer removed: ${who(p)}`);
  return out;
}

function revokedChanges(before: Config, after: Config): string[] {
  const old = new Set(before.revoked);
  const now = new Set(after.revoked);
  return [...[...now].filter((id) => !old.has(id)).map((id) => `revoked: ${id}`), ...[...old].filter((id) => !now.has(id)).map((id) => `no longer revoked: ${id}`)];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
