/**
 * `wizard invite` and `wizard join`: enrolling a machine by a one-time code,
 * without copying the CA key to it (trust/enrol-server.ts, cli/join.ts).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { controlRequest } from '../status/control.js';
import { DEFAULT_INVITE_TTL_MS } from '../trust/enrol-server.js';
import { printable } from './format.js';
import { type CliIo, homeOf } from './io.js';
import { join } from './join.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest an invite may live: a code is a key to the network for as long as it is open. */
const MAX_TTL_MS = 30 * UNIT_MS.d!;

/** Parses `90s`, `30m`, `2h`, `7d`. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  const ms = m === null ? NaN : Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new InvalidArgumentError(`a duration is a whole number and a unit (s, m, h, d), as 30m or 24h; got '${text}'`);
  if (ms > MAX_TTL_MS) throw new InvalidArgumentError(`an invite lives at most 30d; got '${text}'`);
  return ms;
}

const repeat = (v: string, acc: string[]) => [...acc, v];

/** Adds `invite` and `join` to the program. */
export function registerEnrolCommands(program: Command, io: CliIo): void {
  program
    .command('invite')
    .description('print a one-time code that lets another machine join (run on the node that holds the CA key, while it runs)')
    .option('--folder <id>', 'a folder to share with the machine that joins (repeatable)', repeat, [])
    .option('--address <host[:port]>', 'where the joining machine reaches this node (default: this LAN address and the listening port)')
    .option('--expires <duration>', 'how long the code works: 30m, 24h, 7d (default 24h)', parseDuration)
    .option('--json', 'print {code, expiresAtMs}')
    .action(async (opts: { folder: string[]; address?: string; expires?: number; json?: boolean }, cmd: Command) => {
      const ttlMs = opts.expires ?? DEFAULT_INVITE_TTL_MS;
      const result = (await controlRequest(homeOf(cmd), { cmd: 'invite', folders: opts.folder, ttlMs, ...(opts.address === undefined ? {} : { address: opts.address }) })) as { code: string; expiresAtMs: number };
      if (opts.json === true) io.out(JSON.stringify(result));
      else {
        io.out(result.code);
        io.out(`On the new machine: wizard join ${result.code}`);
        io.out(`It works once, until ${new Date(result.expiresAtMs).toISOString()}.${opts.folder.length === 0 ? ' It shares no folder; --folder ID shares one.' : ''}`);
      }
    });

  program
    .command('join')
    .description('create this node from an invite code: its own key, a certificate signed by the inviter, no CA key here')
    .argument('<code>', "the code 'wizard invite' printed")
    .option('--name <name>', 'this node name as peers see it (default: host name)')
    .option('--listen <host:port>', 'address to accept peers on', '0.0.0.0:7842')
    .option('--folder <id=path>', 'where an invited folder (or another) lives here (repeatable; default ~/Wizard for default, ~/Wizard-ID for others)', repeat, [])
    .option('--json', 'print the result as JSON')
    .action(async (code: string, opts: { name?: string; listen: string; folder: string[]; json?: boolean }, cmd: Command) => {
      const r = await join({ home: homeOf(cmd), code, listen: opts.listen, folders: opts.folder, ...(opts.name === undefined ? {} : { name: opts.name }) });
      if (opts.json === true) {
        io.out(JSON.stringify(r));
        return;
      }
      io.out(`Joined ${printable(r.inviter.name)} (${r.inviter.id}) at ${r.inviter.address}`);
      io.out(`Node ID: ${r.id}`);
      for (const f of r.folders) io.out(`Folder '${printable(f.id)}' is ${printable(f.path)}, shared with ${printable(r.inviter.name)}`);
      for (const p of r.introduced) io.out(`Introduced to ${printable(p.name)} (${p.id})`);
      io.out(`Start it with: wizard start --home ${r.home}`);
    });
}
