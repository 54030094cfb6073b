/**
 * `wizard invite` and `wizard join`: enrolling a machine by a one-time code,
 * without copying the CA key to it (trust/enrol-server.ts, cli/join.ts).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { type ControlRequest, controlRequest } from '../status/control.js';
import { DEFAULT_INVITE_TTL_MS } from '../trust/enrol-server.js';
import { InviteBook, invitesPath, type InviteView } from '../trust/invites.js';
import type { Config } from '../config/schema.js';
import { nodeNameOf } from '../config/node-names.js';
import { formatTime, printable } from './format.js';
import { type CliIo, configOf, homeOf } from './io.js';
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

/** Sends a command to the daemon: the CLI's goes through the control socket, the web server's straight to the daemon's handler. */
export type ControlSend = (req: ControlRequest) => Promise<unknown>;

/** What `wizard invite` asks for. */
export interface InviteOptions {
  readonly folders: readonly string[];
  readonly ttlMs?: number;
  readonly address?: string;
  /** No address in the code: the joiner finds this node on the LAN. */
  readonly lan?: boolean;
}

/** Asks the daemon for an invite code (it holds the CA key and answers the joining machine). */
export async function makeInvite(send: ControlSend, opts: InviteOptions): Promise<{ code: string; expiresAtMs: number }> {
  const ttlMs = opts.ttlMs ?? DEFAULT_INVITE_TTL_MS;
  const where = { ...(opts.address === undefined ? {} : { address: opts.address }), ...(opts.lan === true ? { lan: true } : {}) };
  return (await send({ cmd: 'invite', folders: [...opts.folders], ttlMs, ...where })) as { code: string; expiresAtMs: number };
}

/** An invite as `wizard invites` lists it: who joined by it, by name when the config knows the node. */
export interface InviteListing extends InviteView {
  readonly joinedName?: string;
}

/** The invites this node made and keeps (see InviteBook), with the names of the nodes that joined. */
export function inviteList(home: string, config: Config, nowMs = Date.now()): InviteListing[] {
  return new InviteBook(invitesPath(home), () => nowMs).list().map((i) => {
    const name = i.joined === undefined ? '' : nodeNameOf(config, '', i.joined);
    return name === '' ? i : { ...i, joinedName: name };
  });
}

/** Human lines for `wizard invites`. */
export function formatInvites(list: readonly InviteListing[], nowMs = Date.now()): string[] {
  if (list.length === 0) return ["No invites; make one with 'wizard invite'."];
  return list.map((i) => {
    const state = i.state === 'used' ? `used by ${printable(i.joinedName ?? '') || 'node'} (${i.joined ?? ''})` : i.state === 'open' && i.expiresAtMs <= nowMs ? 'expired' : i.state;
    const folders = i.folders.length === 0 ? 'no folder' : i.folders.map(printable).join(', ');
    return `${formatTime(i.createdAtMs)}  ${i.id.slice(0, 8)}  ${state}  until ${formatTime(i.expiresAtMs)}  shares ${folders}`;
  });
}

/** Adds `invite` and `join` to the program. */
export function registerEnrolCommands(program: Command, io: CliIo): void {
  program
    .command('invite')
    .description('print a one-time code that lets another machine join (run on the node that holds the CA key, while it runs)')
    .option('--folder <id>', 'a folder to share with the machine that joins (repeatable)', repeat, [])
    .option('--address <host[:port]>', 'where the joining machine reaches this node (default: this LAN address and the listening port; the joiner looks on the LAN when it does not answer)')
    .option('--lan', 'put no address in the code: the joining machine finds this node on the LAN (for a machine whose address changes)')
    .option('--expires <duration>', 'how long the code works: 30m, 24h, 7d (default 24h)', parseDuration)
    .option('--json', 'print {code, expiresAtMs}')
    .action(async (opts: { folder: string[]; address?: string; lan?: boolean; expires?: number; json?: boolean }, cmd: Command) => {
      const home = homeOf(cmd);
      const result = await makeInvite((req) => controlRequest(home, req), { folders: opts.folder, ttlMs: opts.expires, address: opts.address, lan: opts.lan });
      if (opts.json === true) io.out(JSON.stringify(result));
      else {
        io.out(result.code);
        io.out(`On the new machine: wizard join ${result.code}`);
        io.out(`It works once, until ${new Date(result.expiresAtMs).toISOString()}.${opts.folder.length === 0 ? ' It shares no folder; --folder ID shares one.' : ''}`);
      }
    });

  program
    .command('invites')
    .description('the invites this node made: open, used (and by whom), withdrawn; expired ones are kept a week')
    .option('--json', 'print {invites}')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const list = inviteList(homeOf(cmd), configOf(cmd));
      if (opts.json === true) io.out(JSON.stringify({ invites: list }));
      else formatInvites(list).forEach(io.out);
    });

  program
    .command('join')
    .description('create this node from an invite code: its own key, a certificate signed by the inviter, no CA key here')
    .argument('<code>', "the code 'wizard invite' printed")
    .option('--name <name>', 'this node name as peers see it (default: host name)')
    .option('--listen <host:port>', 'address to accept peers on', '0.0.0.0:7842')
    .option('--folder <id=path>', 'where an invited folder (or another) lives here (repeatable; default ~/Wizard for default, ~/Wizard-ID for others)', repeat, [])
    .option('--no-lan', "only the code's address: do not look for the inviter on the LAN when it does not answer there")
    .option('--json', 'print the result as JSON')
    .action(async (code: string, opts: { name?: string; listen: string; folder: string[]; lan: boolean; json?: boolean }, cmd: Command) => {
      // The LAN search can take a while: say so on stderr, so stdout stays the result alone.
      const onProgress = (line: string) => process.stderr.write(`${line}\n`);
      const r = await join({ home: homeOf(cmd), code, listen: opts.listen, folders: opts.folder, lan: opts.lan, onProgress, ...lanSearchFromEnv(), ...(opts.name === undefined ? {} : { name: opts.name }) });
      if (opts.json === true) {
        io.out(JSON.stringify(r));
        return;
      }
      io.out(`Joined ${printable(r.inviter.name)} (${r.inviter.id}) at ${r.inviter.address}${r.foundOnLan ? ', found on the LAN' : ''}`);
      io.out(`Node ID: ${r.id}`);
      for (const f of r.folders) io.out(`Folder '${printable(f.id)}' is ${printable(f.path)}, shared with ${printable(r.inviter.name)}`);
      for (const p of r.introduced) io.out(`Introduced to ${printable(p.name)} (${p.id})`);
      io.out(`Start it with: wizard start --home ${r.home}`);
    });
}

/** A shorter LAN search, for tests that must see a join give up in a moment rather than LAN_SEARCH_MS. */
function lanSearchFromEnv(env: NodeJS.ProcessEnv = process.env): { lanSearchMs?: number } {
  const n = Number(env.WIZARD_LAN_SEARCH_MS);
  return Number.isInteger(n) && n > 0 ? { lanSearchMs: n } : {};
}
