/**
 * `wizard status`: asks the running daemon what it is doing.
 */
import type { StatusSnapshot } from '../node.js';
import { controlRequest } from '../status/control.js';
import { printable } from './format.js';

/** Fetches the daemon's status snapshot. */
export async function fetchStatus(home: string): Promise<StatusSnapshot> {
  return (await controlRequest(home, { cmd: 'status' })) as StatusSnapshot;
}


/** A short human summary of a snapshot. */
export function formatStatus(s: StatusSnapshot): string[] {
  const lines = [`${printable(s.name)} (${s.id})  listening on ${s.listen}`];
  lines.push('Folders:');
  for (const f of s.folders) {
    const state = f.state === 'halted' ? `HALTED: ${printable(f.haltReason ?? '')}` : f.inSync ? 'in sync' : `${f.state}, ${f.pending} pending`;
    lines.push(`  ${printable(f.id)}  ${printable(f.path)}  ${f.files} files, ${f.bytes} bytes  ${state}`);
  }
  if (s.folders.length === 0) lines.push('  (none)');
  lines.push('Peers:');
  for (const p of s.peers) {
    lines.push(
      `  ${printable(p.name)} (${p.id.slice(0, 16)}…)  ${printable(p.address) || 'no address'}  ${p.connected ? 'connected' : 'not connected'}  sent ${p.bytesSent} B, received ${p.bytesReceived} B`,
    );
  }
  if (s.peers.length === 0) lines.push("  (none; pair one with 'wizard pair HOST')");
  if (s.configProblem !== undefined) lines.push(`Config error (last good config in force): ${printable(s.configProblem.message)}`);
  if (s.errors.length > 0) {
    lines.push('Recent errors:');
    for (const e of s.errors) lines.push(`  ${printable(e)}`);
  }
  return lines;
}
