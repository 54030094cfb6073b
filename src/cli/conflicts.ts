/**
 * `wizard conflicts [--folder ID]` and `wizard conflicts keep PATH
 * --mine|--theirs|--both`: work on the folders on disk, no daemon needed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { nodeIdOf } from '../certs/ca.js';
import type { Config } from '../config/schema.js';
import { systemClock } from '../core/clock.js';
import { hasCode, UsageError } from '../core/errors.js';
import { type Conflict, type KeepChoice, listConflicts, parseConflictName, type Resolution, resolveConflict } from '../sync/conflicts.js';
import { Trash } from '../sync/trash.js';
import { formatBytes, formatTime, printable } from './format.js';
import { certsDir } from './home.js';
import { type CliIo, configOf, homeOf } from './io.js';
import { foldersOf, locate } from './locate.js';
import { fetchWhy } from './status.js';

/** A conflict, its folder, and who the losing node is, by name when known. */
export interface FolderConflict extends Conflict {
  readonly folder: string;
  /** The losing node's name from the config ('this node' for ourselves), or '' when unknown. */
  readonly nodeName: string;
  /**
   * The nodes whose edits make up the version of the file at the original
   * path, by name (short ID when unknown), from the running daemon's index;
   * absent when no daemon runs or it has no entry.
   */
  readonly mineEditedBy?: string[];
}

/** Asks the running daemon which nodes edited each original; leaves the list as it is when none runs. */
async function withEditors(home: string, config: Config, self: string, list: FolderConflict[]): Promise<FolderConflict[]> {
  const out: FolderConflict[] = [];
  for (const c of list) {
    let version: Record<string, number> | undefined;
    try {
      version = (await fetchWhy(home, c.folder, c.original)).local.version;
    } catch (err) {
      // No daemon: the disk alone answers. A path the daemon refuses (a hostile name) has no index entry either.
      if (hasCode(err, 'NOT_RUNNING')) return [...out, ...list.slice(out.length)];
      version = undefined;
    }
    const editors = Object.keys(version ?? {}).map((k) => nameOf(config, self, k) || k);
    out.push(editors.length === 0 ? c : { ...c, mineEditedBy: editors });
  }
  return out;
}

/** Our own node ID, or '' when the home has no certificate yet. */
function selfId(home: string): string {
  try {
    return nodeIdOf(readFileSync(path.join(certsDir(home), 'node.crt'), 'utf8'));
  } catch {
    return '';
  }
}

/** The name of the node a short ID in a conflict name stands for. */
function nameOf(config: Config, self: string, short: string): string {
  const s = short.toLowerCase();
  if (self !== '' && self.startsWith(s)) return 'this node';
  return config.peers.find((p) => p.id.startsWith(s))?.name ?? '';
}

/** Conflicts in the chosen folders. */
export async function conflictList(config: Config, home: string, folder?: string): Promise<FolderConflict[]> {
  const self = selfId(home);
  const out: FolderConflict[] = [];
  for (const f of foldersOf(config, folder)) {
    for (const c of await listConflicts(f.path)) out.push({ folder: f.id, nodeName: nameOf(config, self, c.node), ...c });
  }
  return withEditors(home, config, self, out);
}

/** Human lines for a conflict listing. */
export function formatConflicts(list: readonly FolderConflict[]): string[] {
  if (list.length === 0) return ['No conflicts.'];
  const lines: string[] = [];
  for (const c of list) {
    const who = c.nodeName === '' ? `node ${printable(c.node)}` : `${printable(c.nodeName)} (${printable(c.node)})`;
    lines.push(`${printable(c.folder)}/${printable(c.original)}`);
    const editors = c.mineEditedBy === undefined ? '' : `, edited by ${c.mineEditedBy.map(printable).join(', ')}`;
    lines.push(c.mine.exists ? `  mine:    modified ${formatTime(c.mine.mtimeMs)}  ${formatBytes(c.mine.size)}${editors}` : '  mine:    (deleted here)');
    lines.push(`  theirs:  from ${who}, conflict at ${formatTime(c.atMs)}, modified ${formatTime(c.theirs.mtimeMs)}  ${formatBytes(c.theirs.size)}`);
    lines.push(`           ${printable(c.theirs.path)}`);
  }
  lines.push("Resolve one with: wizard conflicts keep PATH --mine | --theirs | --both");
  return lines;
}

/** Resolves the conflict `input` names: its conflict copy, or its original when there is exactly one copy. */
export async function conflictKeep(config: Config, home: string, input: string, keep: KeepChoice, opts: { folder?: string; cwd: string }): Promise<Resolution & { folder: string }> {
  const { folder, rel } = locate(config, input, opts);
  const all = await conflictList(config, home, folder.id);
  const named = parseConflictName(rel);
  const matches = named !== undefined ? all.filter((c) => c.theirs.path === rel) : all.filter((c) => c.original === rel);
  if (matches.length === 0) throw new UsageError(`no conflict for ${rel} in folder '${folder.id}'; see 'wizard conflicts'`);
  const [only] = matches;
  if (matches.length > 1 || only === undefined) {
    throw new UsageError(`${rel} has ${matches.length} conflict copies; name one: ${matches.map((c) => printable(c.theirs.path)).join(', ')}`);
  }
  return { folder: folder.id, ...(await resolveConflict(folder.path, new Trash(folder.path, systemClock), only, keep)) };
}

/** Adds `wizard conflicts` and `wizard conflicts keep` to the program. */
export function registerConflicts(program: Command, io: CliIo): void {
  const conflicts = program
    .command('conflicts')
    .description('list conflict copies: both sides, who and when')
    .option('--folder <id>', 'only this folder')
    .option('--json', 'print one JSON object')
    .action(async (opts: { folder?: string; json?: boolean }, cmd: Command) => {
      const list = await conflictList(configOf(cmd), homeOf(cmd), opts.folder);
      if (opts.json === true) io.out(JSON.stringify({ conflicts: list }));
      else formatConflicts(list).forEach(io.out);
    });
  conflicts
    .command('keep')
    .description('resolve one conflict; the discarded side goes to the trash')
    .argument('<path>', 'the conflict copy, or the original file when it has one copy')
    .option('--mine', "keep this node's file, trash the conflict copy")
    .option('--theirs', 'keep the conflict copy in place of the file, trash the file')
    .option('--both', 'keep both: the copy is renamed NAME.from-NODE-STAMP.EXT')
    .option('--folder <id>', 'the folder PATH is relative to')
    .option('--json', 'print one JSON object')
    .action(async (input: string, _opts: unknown, cmd: Command) => {
      // --folder and --json are also options of `conflicts` itself, which claims them when both are defined.
      const opts = cmd.optsWithGlobals<{ mine?: boolean; theirs?: boolean; both?: boolean; folder?: string; json?: boolean }>();
      const chosen = (['mine', 'theirs', 'both'] as const).filter((k) => opts[k] === true);
      const [keep] = chosen;
      if (chosen.length !== 1 || keep === undefined) throw new UsageError('give exactly one of --mine, --theirs, --both');
      const r = await conflictKeep(configOf(cmd), homeOf(cmd), input, keep, { folder: opts.folder, cwd: io.cwd });
      if (opts.json === true) io.out(JSON.stringify(r));
      else {
        io.out(`Kept ${keep}: ${r.paths.map((p) => `${printable(r.folder)}/${printable(p)}`).join(' and ')}`);
        for (const t of r.trashed) io.out(`The other side is in the trash as ${printable(t)}`);
      }
    });
}
