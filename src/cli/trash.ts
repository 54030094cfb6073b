/**
 * `wizard trash list|restore|purge`: works on the folders' trash dirs
 * directly, so it needs no running daemon. A restore is an ordinary local
 * edit: the daemon's watcher sees the file appear and syncs it.
 */
import type { Command } from 'commander';
import { systemClock } from '../core/clock.js';
import { UsageError } from '../core/errors.js';
import type { Config } from '../config/schema.js';
import { listTrash, olderThan, purgeEntries, restoreEntry, type RestoreResult, type TrashEntry } from '../sync/trash/trash-catalog.js';
import { Trash } from '../sync/trash/trash.js';
import { counted, formatBytes, formatTime, printable } from './format.js';
import { configOf, type CliIo, wholeNumber } from './io.js';
import { foldersOf, locate, pathPattern } from './locate.js';

/** A trash entry and the folder it belongs to. */
export interface FolderTrashEntry extends TrashEntry {
  readonly folder: string;
}

/** A trash listing: the entries a pattern chose, and how many the trash holds in all. */
export interface TrashListing {
  readonly entries: FolderTrashEntry[];
  /** Entries in the chosen folders' trash, matching or not. */
  readonly total: number;
}

/** The trash of the chosen folders, filtered by a path pattern, oldest first. */
export async function trashList(config: Config, opts: { folder?: string; pattern?: string }): Promise<TrashListing> {
  const matches = opts.pattern === undefined ? () => true : pathPattern(opts.pattern);
  const entries: FolderTrashEntry[] = [];
  let total = 0;
  for (const f of foldersOf(config, opts.folder)) {
    for (const e of await listTrash(f.path)) {
      total++;
      if (matches(e.path)) entries.push({ folder: f.id, ...e });
    }
  }
  return { entries, total };
}

/** Human lines for a trash listing; `pattern` is the one it was filtered by. */
export function formatTrashList({ entries, total }: TrashListing, pattern?: string): string[] {
  if (entries.length === 0 && total > 0 && pattern !== undefined) {
    return [`Nothing in the trash matches '${printable(pattern)}' (it holds ${counted(total, 'entry', 'entries')}; 'wizard trash list' shows them all).`];
  }
  if (entries.length === 0) return ['The trash is empty.'];
  // The size is what the entry costs on disk; a reverse delta (a patch in place's old bytes) says so.
  return entries.map(
    (e) =>
      `${formatTime(e.trashedAtMs)}  ${e.cause.padEnd(17)}  ${formatBytes(e.size).padStart(9)}  ${printable(e.folder)}/${printable(e.path)}  (${printable(e.entry)}${e.form === 'reverse-delta' ? ', changes back from the next version' : ''})`,
  );
}

/**
 * Restores `input`: a trash entry (`.../.wizard/trash/NAME~STAMP`) or an
 * original path, whose newest entry is taken. `as` puts it elsewhere.
 */
export async function trashRestore(config: Config, input: string, opts: { folder?: string; as?: string; cwd: string; nowMs?: number }): Promise<RestoreResult & { folder: string }> {
  const { folder, rel } = locate(config, input, opts);
  const entries = await listTrash(folder.path);
  const inTrash = rel.startsWith('.wizard/trash/') ? rel.slice('.wizard/trash/'.length) : undefined;
  const entry = inTrash !== undefined ? entries.find((e) => e.entry === inTrash) : entries.filter((e) => e.path === rel).at(-1);
  if (entry === undefined) throw new UsageError(`nothing in folder '${folder.id}' trash for ${rel}; see 'wizard trash list'`);
  let target: string | undefined;
  if (opts.as !== undefined) {
    const where = locate(config, opts.as, { folder: folder.id, cwd: opts.cwd });
    target = where.rel;
  }
  const result = await restoreEntry(folder.path, new Trash(folder.path, systemClock), entry, target, opts.nowMs);
  return { folder: folder.id, ...result };
}

/** What a purge removed. */
export interface PurgeResult {
  readonly entries: number;
  readonly bytes: number;
}

/** Purges every entry of the chosen folders, or only those older than `olderThanDays` by the local clock. */
export async function trashPurge(config: Config, opts: { folder?: string; olderThanDays?: number; nowMs?: number }): Promise<PurgeResult> {
  let entries = 0;
  let bytes = 0;
  for (const f of foldersOf(config, opts.folder)) {
    const all = await listTrash(f.path);
    const victims = opts.olderThanDays === undefined ? all : olderThan(all, opts.nowMs ?? Date.now(), opts.olderThanDays);
    bytes += await purgeEntries(f.path, victims);
    entries += victims.length;
  }
  return { entries, bytes };
}

/** Adds `wizard trash list|restore|purge` to the program. */
export function registerTrash(program: Command, io: CliIo): void {
  const trash = program.command('trash').description("list, restore and purge the folders' trash");
  trash
    .command('list')
    .description('list trashed files: when, why, size on disk, original path (oldest first)')
    .argument('[pattern]', "only original paths matching this shell pattern ('*.txt', 'docs/**')")
    .option('--folder <id>', 'only this folder')
    .option('--json', 'print one JSON object')
    .action(async (pattern: string | undefined, opts: { folder?: string; json?: boolean }, cmd: Command) => {
      const listing = await trashList(configOf(cmd), { folder: opts.folder, pattern });
      if (opts.json === true) io.out(JSON.stringify({ entries: listing.entries }));
      else formatTrashList(listing, pattern).forEach(io.out);
    });
  trash
    .command('restore')
    .description('put a trashed file back (its newest version, or the entry named); peers get it as a new edit')
    .argument('<path>', 'the original path, or a path inside .wizard/trash/ as list prints it')
    .option('--as <newpath>', 'restore to this path instead')
    .option('--folder <id>', 'the folder PATH is relative to')
    .option('--json', 'print one JSON object')
    .action(async (input: string, opts: { folder?: string; as?: string; json?: boolean }, cmd: Command) => {
      const r = await trashRestore(configOf(cmd), input, { folder: opts.folder, as: opts.as, cwd: io.cwd });
      if (opts.json === true) io.out(JSON.stringify(r));
      else {
        io.out(`Restored ${printable(r.folder)}/${printable(r.path)} from ${printable(r.entry)}`);
        if (r.replacedInto !== undefined) io.out(`The file that was there is in the trash as ${printable(r.replacedInto)}`);
      }
    });
  trash
    .command('purge')
    .description('delete trashed files for good: all of them, or those older than DAYS')
    .option('--older-than <days>', 'only entries trashed more than DAYS days ago', wholeNumber('--older-than'))
    .option('--folder <id>', 'only this folder')
    .option('--json', 'print one JSON object')
    .action(async (opts: { folder?: string; olderThan?: number; json?: boolean }, cmd: Command) => {
      const r = await trashPurge(configOf(cmd), { folder: opts.folder, olderThanDays: opts.olderThan });
      if (opts.json === true) io.out(JSON.stringify(r));
      else io.out(`Purged ${counted(r.entries, 'entry', 'entries')}, ${formatBytes(r.bytes)}.`);
    });
}
