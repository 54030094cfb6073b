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
import { UsageError } from '../core/errors.js';
import { type Conflict, type KeepChoice, listConflicts, parseConflictName, type Resolution, resolveConflict } from '../sync/conflicts/conflicts.js';
import { Trash } from '../sync/trash/trash.js';
import { formatBytes, formatTime, printable } from './format.js';
import { certsDir } from './home.js';
import { type CliIo, configOf, homeOf } from './io.js';
import { foldersOf, locate } from './locate.js';
import { nodeNameOf } from '../config/node-names.js';

/** A conflict, its folder, and whose edit the copy holds, in words. */
export interface FolderConflict extends Conflict {
  readonly folder: string;
  /** Whose edit the conflict copy holds: 'this node', a peer's name, or 'node <ID>' when the config knows no such node. */
  readonly copyBy: string;
  /** True when the copy holds this node's own edit. */
  readonly copyIsOurs: boolean;
}

/** Our own node ID, or '' when the home has no certificate yet. */
function selfId(home: string): string {
  try {
    return nodeIdOf(readFileSync(path.join(certsDir(home), 'node.crt'), 'utf8'));
  } catch {
    return '';
  }
}

function isSelf(self: string, short: string): boolean {
  return self !== '' && short !== '' && self.startsWith(short.toLowerCase());
}

/** A node a short ID stands for, in words: 'this node', the peer's name, or 'node <ID>'. */
function nodeInWords(config: Config, self: string, short: string): string {
  if (isSelf(self, short)) return 'this node';
  const name = nodeNameOf(config, self, short);
  return name === '' ? `node ${short.slice(0, 8)}` : name;
}

/** Conflicts in the chosen folders. */
export async function conflictList(config: Config, home: string, folder?: string): Promise<FolderConflict[]> {
  const self = selfId(home);
  const out: FolderConflict[] = [];
  for (const f of foldersOf(config, folder)) {
    for (const c of await listConflicts(f.path)) out.push({ folder: f.id, copyBy: nodeInWords(config, self, c.node), copyIsOurs: isSelf(self, c.node), ...c });
  }
  return out;
}

/** `X's edit`, with this node's name beside 'this node' so the line reads the same on every machine. */
function editOf(who: string, selfName: string): string {
  return who === 'this node' ? `this node's edit (${printable(selfName)})` : `${printable(who)}'s edit`;
}

/**
 * Human lines for a conflict listing. Whose edit the file at the path holds
 * is not said: its recorded version merges both sides' (see reconcile.ts),
 * so it cannot tell; the copy's name can, and the file holds the edit that
 * won (or one made since).
 */
export function formatConflicts(list: readonly FolderConflict[], selfName: string): string[] {
  if (list.length === 0) return ['No conflicts.'];
  const lines: string[] = [];
  for (const c of list) {
    lines.push(`${printable(c.folder)}/${printable(c.original)}  (conflict at ${formatTime(c.atMs)})`);
    lines.push(c.file.exists ? `  the file:       the edit that won, modified ${formatTime(c.file.mtimeMs)}, ${formatBytes(c.file.size)}` : '  the file:       deleted');
    lines.push(`  conflict copy:  ${editOf(c.copyBy, selfName)}, which lost; modified ${formatTime(c.copy.mtimeMs)}, ${formatBytes(c.copy.size)}`);
    lines.push(`                  ${printable(c.copy.path)}`);
  }
  lines.push('Resolve one with: wizard conflicts keep PATH --file (keep the file, trash the copy) | --copy (the copy replaces the file) | --both');
  return lines;
}

/**
 * What `--mine` (this node's edit) or `--theirs` (the other node's) means for
 * one conflict: when the copy holds this node's edit, mine is the copy; when
 * it holds another node's, mine is the file (this node's side of it).
 */
export function sideOf(c: FolderConflict, want: 'mine' | 'theirs'): KeepChoice {
  const ours = c.copyIsOurs ? 'copy' : 'file';
  return want === 'mine' ? ours : ours === 'copy' ? 'file' : 'copy';
}

/** Resolves the conflict `input` names: its conflict copy, or its original when there is exactly one copy. */
export async function conflictKeep(
  config: Config,
  home: string,
  input: string,
  keep: KeepChoice | 'mine' | 'theirs',
  opts: { folder?: string; cwd: string },
): Promise<Resolution & { folder: string; keptEdit: string }> {
  const { folder, rel } = locate(config, input, opts);
  const all = await conflictList(config, home, folder.id);
  const named = parseConflictName(rel);
  const matches = named !== undefined ? all.filter((c) => c.copy.path === rel) : all.filter((c) => c.original === rel);
  if (matches.length === 0) throw new UsageError(`no conflict for ${rel} in folder '${folder.id}'; see 'wizard conflicts'`);
  const [only] = matches;
  if (matches.length > 1 || only === undefined) {
    throw new UsageError(`${rel} has ${matches.length} conflict copies; name one: ${matches.map((c) => printable(c.copy.path)).join(', ')}`);
  }
  const choice = keep === 'mine' || keep === 'theirs' ? sideOf(only, keep) : keep;
  const keptEdit = choice === 'copy' ? `the conflict copy (${editOf(only.copyBy, config.name)})` : choice === 'file' ? 'the file' : 'both sides';
  return { folder: folder.id, keptEdit, ...(await resolveConflict(folder.path, new Trash(folder.path, systemClock), only, choice)) };
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
      else formatConflicts(list, configOf(cmd).name).forEach(io.out);
    });
  conflicts
    .command('keep')
    .description('resolve one conflict; the discarded side goes to the trash')
    .argument('<path>', 'the conflict copy, or the original file when it has one copy')
    .option('--file', 'keep the file at the path, trash the conflict copy')
    .option('--copy', 'keep the conflict copy in place of the file, trash the file')
    .option('--both', 'keep both: the copy is renamed NAME.from-NODE-STAMP.EXT')
    .option('--mine', "keep this node's side: the copy when it holds this node's edit, else the file")
    .option('--theirs', "keep the other node's side: the file when the copy holds this node's edit, else the copy")
    .option('--folder <id>', 'the folder PATH is relative to')
    .option('--json', 'print one JSON object')
    .action(async (input: string, _opts: unknown, cmd: Command) => {
      // --folder and --json are also options of `conflicts` itself, which claims them when both are defined.
      const opts = cmd.optsWithGlobals<{ file?: boolean; copy?: boolean; mine?: boolean; theirs?: boolean; both?: boolean; folder?: string; json?: boolean }>();
      const chosen = (['file', 'copy', 'both', 'mine', 'theirs'] as const).filter((k) => opts[k] === true);
      const [keep] = chosen;
      if (chosen.length !== 1 || keep === undefined) throw new UsageError('give exactly one of --file, --copy, --both (or --mine, --theirs)');
      const r = await conflictKeep(configOf(cmd), homeOf(cmd), input, keep, { folder: opts.folder, cwd: io.cwd });
      if (opts.json === true) io.out(JSON.stringify(r));
      else {
        const where = r.paths.map((p) => `${printable(r.folder)}/${printable(p)}`).join(' and ');
        io.out(r.kept === 'both' ? `Kept both: ${where}` : `Kept ${r.keptEdit} at ${where}`);
        for (const t of r.trashed) io.out(`The other side is in the trash as ${printable(t)}`);
      }
    });
}
