/**
 * `wizard status`: asks the running daemon what it is doing and renders the
 * snapshot as text. Rates need two snapshots, so only the live view has them.
 */
import type { StatusSnapshot } from '../status/snapshot.js';
import type { Why } from '../status/why.js';
import { controlRequest } from '../status/control.js';
import { counted, formatBytes, formatDuration, printable } from './format.js';

/** Fetches the daemon's status snapshot. */
export async function fetchStatus(home: string): Promise<StatusSnapshot> {
  return (await controlRequest(home, { cmd: 'status' })) as StatusSnapshot;
}

/** Asks the daemon why a path is (or is not) in sync. */
export async function fetchWhy(home: string, folder: string, path: string): Promise<Why> {
  return (await controlRequest(home, { cmd: 'why', folder, path })) as Why;
}

/** An earlier snapshot and when it was taken, to turn byte counters into rates. */
export interface PreviousSnapshot {
  readonly snapshot: StatusSnapshot;
  readonly atMs: number;
}

const BAR_WIDTH = 20;

/** `[#######-------------]` for `done` of `total`. */
export function progressBar(done: number, total: number, width = BAR_WIDTH): string {
  const filled = total <= 0 ? width : Math.min(width, Math.floor((done / total) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

function rate(bytesNow: number, bytesThen: number | undefined, seconds: number): string {
  if (bytesThen === undefined || seconds <= 0) return '';
  return `${formatBytes(Math.max(0, Math.round((bytesNow - bytesThen) / seconds)))}/s`;
}

/** The snapshot as lines of text; with `prev`, peers get up/down rates. */
export function formatStatus(s: StatusSnapshot, prev?: PreviousSnapshot, nowMs = Date.now()): string[] {
  const seconds = prev === undefined ? 0 : (nowMs - prev.atMs) / 1000;
  // Every line fits an 80-column terminal with usual names and paths: the live view cuts what does not.
  const lines = [`${printable(s.name)}  listening on ${printable(s.listen) || '(not listening)'}`, `  node ID ${s.id}`];
  if (s.configProblem !== undefined) lines.push(`Config error (last good config in force): ${printable(s.configProblem.message)}`);
  if (s.log !== undefined) lines.push(logLine(s.log));
  const l = s.settings.limits;
  const bw = (n: number) => (n === 0 ? 'unlimited' : `${formatBytes(n)}/s`);
  lines.push(`Limits: ${counted(l.transfers, 'transfer')}, ${counted(l.hashers, 'hasher')}, up ${bw(l.bandwidthUp)}, down ${bw(l.bandwidthDown)}`);
  lines.push(`Trash kept ${counted(s.settings.trashRetentionDays, 'day')}; log level ${s.settings.logLevel}`);

  lines.push('Peers:');
  for (const p of s.peers) {
    const before = prev?.snapshot.peers.find((q) => q.id === p.id);
    // The daemon's own meters when it has them (a live link), else the change since the last view.
    const up = p.sendBytesPerSecond !== undefined ? `${formatBytes(p.sendBytesPerSecond)}/s` : rate(p.bytesSent, before?.bytesSent, seconds);
    const down = p.receiveBytesPerSecond !== undefined ? `${formatBytes(p.receiveBytesPerSecond)}/s` : rate(p.bytesReceived, before?.bytesReceived, seconds);
    const rates = up === '' ? '' : `up ${up}, down ${down}; `;
    const latency = p.latencyMs === undefined ? '' : `  ${p.latencyMs} ms`;
    lines.push(`  ${printable(p.name) || p.id.slice(0, 16)}  ${p.connected ? 'connected' : 'not connected'}  ${printable(p.address) || 'no address'}${latency}`);
    lines.push(`    ${rates}sent ${formatBytes(p.bytesSent)}, received ${formatBytes(p.bytesReceived)}`);
    if (p.lan !== undefined) lines.push(`    seen on the LAN at ${printable(p.lan.address)} ${formatDuration(Math.max(0, Math.round((nowMs - p.lan.seenAtMs) / 1000)))} ago`);
    const c = p.compression;
    if (c !== undefined) {
      const ratio = c.ratio === undefined ? '' : `, ratio ${Math.round(c.ratio * 100)}%`;
      lines.push(`    compression ${c.codec}${ratio}: ${c.reason}`);
    }
    for (const r of p.refused ?? []) {
      lines.push(`    refused ${counted(r.entries, 'index entry', 'index entries')} of ${printable(r.folder)}: version counters far ahead of any clock (last: ${printable(r.path)} at ${r.counter})`);
    }
    const b = p.backoff;
    if (b !== undefined && b.untilMs > nowMs) {
      const wait = formatDuration(Math.ceil((b.untilMs - nowMs) / 1000));
      lines.push(`    broke the protocol ${counted(b.violations, 'time')}; not dialing it for ${wait}; last: ${printable(b.lastReason)}`);
    }
  }
  if (s.peers.length === 0) lines.push("  (none; pair one with 'wizard pair HOST')");
  lines.push(discoveryLine(s.discovery));

  lines.push('Folders:');
  for (const f of s.folders) {
    const state = folderState(f);
    const mode = f.mode === 'send-receive' ? '' : `  (${f.mode})`;
    lines.push(`  ${printable(f.id)}  ${printable(f.path)}`);
    lines.push(`    ${counted(f.files, 'file')}, ${formatBytes(f.bytes)}  ${state}${mode}`);
    // Older daemons send no count: nothing to say then.
    if ((f.conflicts ?? 0) > 0) lines.push(`    ${counted(f.conflicts ?? 0, 'conflict')}: see 'wizard conflicts'`);
    if (f.watchProblem !== undefined) lines.push(`    ${printable(f.watchProblem)}`);
    if (f.skipped !== undefined) {
      const { count, examples } = f.skipped;
      lines.push(`    ${count} ${count === 1 ? 'path is' : 'paths are'} not synced (see 'wizard status --why PATH'):`);
      for (const e of examples) lines.push(`      ${printable(e.path)}: ${printable(e.reason)}`);
      if (count > examples.length) lines.push(`      and ${count - examples.length} more`);
    }
    if (f.heldDeletions > 0) lines.push(`    ${heldLine(s, f)}`);
    if (f.mode === 'send-only' && f.pending > 0) lines.push(`    send-only: ${f.pending} paths differ from the peers and are not applied here; 'wizard folder override ${printable(f.id)}' makes this node's versions win`);
    if (f.mode === 'receive-only' && (f.localChanges ?? 0) > 0) lines.push(`    receive-only: ${f.localChanges ?? 0} local changes are not sent; 'wizard folder revert ${printable(f.id)}' puts the peers' versions back`);
  }
  if (s.folders.length === 0) lines.push('  (none)');
  for (const r of s.pairingRequests) {
    lines.push(`Pairing request: ${printable(r.name) || '(no name)'} (${r.id.slice(0, 8)}) from ${printable(r.address) || 'an address it did not give'}: accept it with 'wizard peer accept ${r.id.slice(0, 8)}'`);
  }
  for (const o of s.offers.filter((x) => !x.declined)) {
    const from = o.peers.map((id) => printable(s.peers.find((p) => p.id === id)?.name || id.slice(0, 8))).join(', ');
    lines.push(`Offered: folder '${printable(o.folder)}' by ${from}: take it with 'wizard folder accept ${printable(o.folder)} PATH', or hide it with 'wizard folder decline ${printable(o.folder)}'`);
  }

  if (s.transfers.length > 0) {
    const slots = s.transferSlots;
    const shared = slots.files > slots.running ? ` (${counted(slots.files, 'file')})` : '';
    lines.push(`Transfers: ${slots.running} running${shared}${slots.waiting > 0 ? `, ${slots.waiting} waiting for a slot` : ''} (limit ${s.settings.limits.transfers})`);
    for (const t of s.transfers) {
      const pct = t.bytesTotal > 0 ? Math.floor((t.bytesDone / t.bytesTotal) * 100) : 100;
      const eta = t.etaSeconds === undefined ? '' : `  ETA ${formatDuration(t.etaSeconds)}`;
      const from = t.peers.map((id) => printable(s.peers.find((p) => p.id === id)?.name || id.slice(0, 16))).join(', ');
      lines.push(`  ${printable(t.folder)}/${printable(t.path)}  from ${from}`);
      lines.push(`    ${progressBar(t.bytesDone, t.bytesTotal)} ${String(pct).padStart(3)}%  ${formatBytes(t.bytesDone)} of ${formatBytes(t.bytesTotal)}  ${formatBytes(t.bytesPerSecond)}/s${eta}`);
    }
  }
  // Healthy services are noise; one that crashed or is waiting to restart is what the user needs to see.
  const troubled = s.services.filter((v) => v.state !== 'running' || v.restarts > 0 || v.lastError !== undefined);
  if (troubled.length > 0) {
    lines.push('Services:');
    for (const v of troubled) {
      const next = v.restartAtMs === undefined ? '' : `, restarting in ${formatDuration(Math.max(0, Math.ceil((v.restartAtMs - nowMs) / 1000)))}`;
      const last = v.lastError === undefined ? '' : `; last error: ${printable(v.lastError)}`;
      lines.push(`  ${printable(v.name)}  ${v.state}${next}, ${counted(v.restarts, 'restart')}${last}`);
    }
  }
  if (s.errors.length > 0) {
    lines.push('Recent errors:');
    for (const e of s.errors) lines.push(`  ${printable(e)}`);
  }
  return lines;
}

/** A folder's state in a few words: halted and why, paused, in sync, or what is left. */
function folderState(f: StatusSnapshot['folders'][number]): string {
  if (f.state === 'halted') return `HALTED: ${printable(f.haltReason ?? '')}`;
  if (f.state === 'paused') return `paused ('wizard folder unpause ${printable(f.id)}' resumes it)`;
  if (f.inSync) return 'in sync';
  return `${f.state}, ${f.pending} left${f.bytesLeft > 0 ? ` (${formatBytes(f.bytesLeft)})` : ''}`;
}

/** LAN discovery in one line: on and what it sees, or off and why. */
function discoveryLine(d: StatusSnapshot['discovery']): string {
  const dropped = Object.values(d.packets.dropped).reduce((a, b) => a + (b ?? 0), 0) - (d.packets.dropped.self ?? 0);
  const drops = dropped > 0 ? `; ${counted(dropped, 'packet')} dropped (malformed or too many)` : '';
  if (d.state === 'running') return `LAN discovery: on (UDP ${d.port}, announcing to ${d.targets.join(', ')}); ${counted(d.seen, 'node')} seen${drops}`;
  if (d.state === 'off') return `LAN discovery: off (${printable(d.reason ?? '')}); 'discovery: {lan: true}' in config.yaml turns it on`;
  return `LAN discovery: ${d.state}${d.reason === undefined ? '' : ` (${printable(d.reason)})`}; ${counted(d.seen, 'node')} seen${drops}`;
}

/** Where the daemon's log went once stdout stopped taking it. */
function logLine(l: NonNullable<StatusSnapshot['log']>): string {
  const when = l.stdoutFailedAtMs === undefined ? '' : ` at ${new Date(l.stdoutFailedAtMs).toISOString().slice(11, 19)} UTC`;
  const why = l.stdoutError === undefined ? '' : ` (${printable(l.stdoutError)})`;
  const where = l.destination === 'file' ? `Log: stdout stopped taking lines${when}${why}; logging to ${printable(l.file)}` : 'Log: on stdout';
  return l.dropped > 0 ? `${where}; ${l.dropped} lines could not be written anywhere (disk full?) and were dropped` : where;
}

/** A folder's held deletions: how many, from which peers, and what lets them go. */
function heldLine(s: StatusSnapshot, f: StatusSnapshot['folders'][number]): string {
  const fromPeers = f.held?.fromPeers ?? [];
  const parts = fromPeers.map((p) => `${p.count} from ${printable(s.peers.find((q) => q.id === p.peer)?.name || p.peer.slice(0, 16))}`);
  if ((f.held?.local ?? 0) > 0 && parts.length > 0) parts.push(`${f.held?.local} local`);
  const detail = parts.length === 0 ? '' : ` (${parts.join(', ')})`;
  const why = f.held === undefined ? '' : `: ${printable(f.held.reason)}`;
  return `${counted(f.heldDeletions, 'deletion')} held by the deletion budget${detail}${why}; 'wizard resume ${printable(f.id)}' applies them`;
}

function describeView(v: Why['local']): string {
  if (!v.exists) return v.deleted ? 'deleted' : 'not known';
  const size = v.type === 'file' && v.size !== undefined ? ` ${formatBytes(v.size)}` : '';
  return `${v.type ?? 'file'}${size}`;
}

function versionText(v: Why['local']): string {
  return v.version === undefined ? '' : `  version ${Object.entries(v.version).map(([k, n]) => `${k.slice(0, 8)}:${n}`).join(' ')}`;
}

/** `status --why` as lines of text. */
export function formatWhy(w: Why): string[] {
  // No node has the newest content only when no node has the path at all.
  const state = w.newestAt.length === 0 ? 'not known to any node' : w.inSync && w.reasons.length === 0 ? 'in sync' : 'not in sync';
  const lines = [`${printable(w.folder)}/${printable(w.path)}: ${state}`];
  lines.push(`  this node: ${describeView(w.local)}${versionText(w.local)}`);
  for (const p of w.peers) {
    lines.push(`  ${printable(p.name) || p.id.slice(0, 16)} (${p.connected ? 'connected' : 'offline'}): ${p.relation === 'missing' ? 'has no entry' : `${describeView(p)}, ${p.relation}`}${versionText(p)}`);
  }
  if (w.newestAt.length > 0) lines.push(`  newest content at: ${w.newestAt.map(printable).join(', ')}`);
  for (const r of w.reasons) lines.push(`  - ${printable(r)}`);
  return lines;
}
