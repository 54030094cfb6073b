/**
 * `wizard status --why PATH`: for one path, each peer's version, who has the
 * newest data, and what holds it back. `explainPath` decides (pure); the
 * daemon gathers its inputs.
 */
import type { FileEntry } from '../index/entry.js';
import type { TransferStatus } from '../sync/pull/transfers.js';
import { compare, type VersionVector } from '../versions/vector.js';

/** How a peer's version relates to ours. */
export type Relation = 'same' | 'newer' | 'older' | 'concurrent' | 'missing';

/** What the daemon knows about one path, gathered for `explainPath`. */
export interface WhyInput {
  readonly folder: string;
  readonly path: string;
  readonly nowMs: number;
  readonly ignored: boolean;
  readonly haltReason?: string;
  /** Set when the path lies in a subtree that is polled instead of watched: why. */
  readonly pollReason?: string;
  /** Set when a scan could not sync the path (or a dir above it): why (see SkippedPaths). */
  readonly skipped?: string;
  readonly local?: FileEntry;
  /** The disk differs from our index entry: a change the watcher has seen but not yet recorded (or one still being written). */
  readonly changedSinceScan?: boolean;
  /** Every configured peer, with its entry for the path when it sent one. */
  readonly peers: ReadonlyArray<{ id: string; name: string; connected: boolean; entry?: FileEntry }>;
  readonly failure?: { attempts: number; nextAt: number; error: string };
  readonly transfer?: TransferStatus;
  /** Conflict copies of this path found next to it. */
  readonly conflictCopies: readonly string[];
  /** The deletion budget holds this path's deletion: the peers (node IDs) that sent it, none for a local one. */
  readonly heldDeletion?: { readonly peers: readonly string[]; readonly reason: string };
}

/** One side's view of the path. */
export interface VersionView {
  readonly exists: boolean;
  readonly deleted: boolean;
  readonly type?: FileEntry['type'];
  readonly size?: number;
  readonly version?: VersionVector;
}

/** The answer to `status --why`. */
export interface Why {
  readonly folder: string;
  readonly path: string;
  readonly local: VersionView;
  readonly peers: Array<{ id: string; name: string; connected: boolean; relation: Relation } & VersionView>;
  /** Who holds the newest content: 'this node' and/or peer names. */
  readonly newestAt: string[];
  readonly inSync: boolean;
  /** What holds the path back, most important first; empty when nothing does. */
  readonly reasons: string[];
}

function view(e: FileEntry | undefined): VersionView {
  if (e === undefined) return { exists: false, deleted: false };
  return { exists: !e.deleted, deleted: e.deleted, type: e.type, size: e.size, version: e.version };
}

function relation(local: FileEntry | undefined, remote: FileEntry | undefined): Relation {
  if (remote === undefined) return 'missing';
  if (local === undefined) return 'newer';
  const c = compare(remote.version, local.version);
  return c === 'equal' ? 'same' : c === 'greater' ? 'newer' : c === 'lesser' ? 'older' : 'concurrent';
}

const label = (p: { id: string; name: string }) => p.name || p.id.slice(0, 16);

/** Explains one path's sync state. */
export function explainPath(w: WhyInput): Why {
  const peers = w.peers.map((p) => ({ id: p.id, name: p.name, connected: p.connected, relation: relation(w.local, p.entry), ...view(p.entry) }));
  const newer = peers.filter((p) => p.relation === 'newer');
  const concurrent = peers.filter((p) => p.relation === 'concurrent');
  const behind = peers.filter((p) => p.relation === 'older' || (p.relation === 'missing' && w.local !== undefined && !w.local.deleted));
  // No entry anywhere: neither this node nor a peer has ever had the path (a typo, another folder), unless it is just being written.
  const unknown = w.local === undefined && peers.every((p) => p.relation === 'missing') && !w.ignored && w.skipped === undefined && w.changedSinceScan !== true;
  const newestAt = newer.length > 0 ? newer.map(label) : unknown ? [] : ['this node', ...peers.filter((p) => p.relation === 'same').map(label)];

  const reasons: string[] = [];
  if (unknown) reasons.push(`unknown path: not on this node and in no peer's index; check the spelling and the folder ('${w.folder}')`);
  if (w.ignored) reasons.push('ignored: an ignore pattern matches it, so it is not synced (and never deleted on peers)');
  if (w.haltReason !== undefined) reasons.push(`folder halted: ${w.haltReason}`);
  if (w.skipped !== undefined) reasons.push(`not synced from here: ${w.skipped}`);
  if (w.heldDeletion !== undefined) reasons.push(heldReason(w, w.heldDeletion));
  if (w.pollReason !== undefined) reasons.push(`not watched, polled: ${w.pollReason}`);
  // A held local deletion is also gone from disk and unrecorded: the hold is what keeps it so, not a write still going on.
  if (w.changedSinceScan === true && !w.ignored && w.heldDeletion === undefined) {
    reasons.push('waiting for quiet: it changed on disk and is recorded once the writes settle (limits.debounceMs), then sent');
  }
  if (w.transfer !== undefined) reasons.push(`downloading now: ${w.transfer.bytesDone} of ${w.transfer.bytesTotal} bytes`);
  if (w.failure !== undefined) {
    const inS = Math.max(0, Math.ceil((w.failure.nextAt - w.nowMs) / 1000));
    const what = /EACCES|EPERM/.test(w.failure.error)
      ? 'permission error'
      : /changed on disk/.test(w.failure.error)
        ? 'waiting for the file to stay quiet (it changed while being synced)'
        : 'last attempt failed';
    reasons.push(`${what} after ${w.failure.attempts} ${w.failure.attempts === 1 ? 'try' : 'tries'}: ${w.failure.error}; next try in ${inS}s`);
  }
  if (newer.length > 0 && !newer.some((p) => p.connected)) {
    reasons.push(`no peer online with that version: ${newer.map(label).join(', ')} ${newer.length === 1 ? 'has' : 'have'} it but ${newer.length === 1 ? 'is' : 'are'} not connected`);
  }
  if (concurrent.length > 0) {
    reasons.push(`conflict: concurrent edits here and on ${concurrent.map(label).join(', ')}; the losing side is kept as a conflict copy`);
  }
  if (w.conflictCopies.length > 0) {
    reasons.push(`conflict copies exist (${w.conflictCopies.join(', ')}); resolve with 'wizard conflicts keep'`);
  }
  const offlineBehind = behind.filter((p) => !p.connected);
  if (offlineBehind.length > 0) reasons.push(`not yet on ${offlineBehind.map(label).join(', ')}: not connected`);
  const inSync = !unknown && !w.ignored && w.skipped === undefined && w.changedSinceScan !== true && w.heldDeletion === undefined && newer.length === 0 && concurrent.length === 0 && behind.length === 0;
  return { folder: w.folder, path: w.path, local: view(w.local), peers, newestAt, inSync, reasons };
}

/** Why a held deletion waits, and what lets it go. */
function heldReason(w: WhyInput, held: NonNullable<WhyInput['heldDeletion']>): string {
  const resume = `'wizard resume ${w.folder}' lets it go`;
  if (held.peers.length === 0) {
    return `deletion held by the deletion budget (${held.reason}): deleted here, but not sent to peers until confirmed; ${resume}`;
  }
  const names = held.peers.map((id) => label(w.peers.find((p) => p.id === id) ?? { id, name: '' }));
  return `deletion from ${names.join(', ')} held by the deletion budget (${held.reason}): the file stays here until confirmed; ${resume} (into the trash)`;
}
