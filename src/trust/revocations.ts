/**
 * The newest CA-signed revocation list this node holds: kept in the home's
 * revocations.json, written (fsync, rename) before it is applied, so a
 * restart never forgets a revocation it acted on; replaced only by a list
 * with a valid signature and a higher version, so a peer can withhold a
 * list, never forge or roll one back.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { readCa } from '../certs/store.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { describeError, UsageError } from '../core/errors.js';
import { LIMITS } from '../protocol/messages.js';
import { compareLists, networkOf, openList, signList, type ListVerdict, type SignedList } from './revocation-list.js';

/** What the holder of the list needs. */
export interface RevocationsDeps {
  readonly home: string;
  /** The home's certs dir: ca.crt always, ca.key on the node that signs. */
  readonly certsDir: string;
  readonly caPem: string;
  readonly now: () => number;
  readonly log: Logger;
}

const FILE = 'revocations.json';

/** The file a home keeps its list in. */
export function revocationsPath(home: string): string {
  return path.join(home, FILE);
}

/** The revocation list of one node. */
export class Revocations {
  private held: SignedList | undefined;

  constructor(private readonly deps: RevocationsDeps) {
    this.held = this.load();
  }

  /** Whether the held list revokes `id`. */
  has(id: string): boolean {
    return this.held?.list.revoked.includes(id) === true;
  }

  /** The held list, to pass on; undefined when there is none. */
  get current(): SignedList | undefined {
    return this.held;
  }

  /** Whether this node holds the CA key, and so can sign a list. */
  canSign(): boolean {
    return existsSync(path.join(this.deps.certsDir, 'ca.key'));
  }

  /**
   * Takes a list a peer sent: a newer one with a valid signature is written
   * to disk, then held; the verdict says what it was (or why it was refused).
   */
  offer(bytes: Uint8Array, signature: Uint8Array): ListVerdict | { refused: string } {
    const opened = openList(bytes, signature, this.deps.caPem);
    if (typeof opened === 'string') return { refused: opened };
    const verdict = compareLists(this.held, opened);
    if (verdict === 'newer') this.keep(opened);
    return verdict;
  }

  /** Signs a list with `ids` added (version one up) and holds it; a UsageError when this node has no CA key. */
  revoke(ids: readonly string[]): SignedList {
    if (!this.canSign()) throw new UsageError('this node does not hold the CA key, so it cannot sign a revocation list');
    const ca = readCa(this.deps.certsDir);
    const before = this.held?.list;
    if (new Set([...(before?.revoked ?? []), ...ids]).size > LIMITS.maxRevokedNodes) {
      throw new UsageError(`a revocation list holds at most ${LIMITS.maxRevokedNodes} nodes; this CA has revoked that many: make a new CA`);
    }
    const signed = signList(
      { network: networkOf(this.deps.caPem), version: (before?.version ?? 0) + 1, issuedAtMs: this.deps.now(), revoked: [...(before?.revoked ?? []), ...ids] },
      ca.keyPem,
    );
    this.keep(signed);
    return signed;
  }

  private keep(signed: SignedList): void {
    const file = revocationsPath(this.deps.home);
    writeFileAtomic(file, `${JSON.stringify({ list: signed.bytes.toString('base64'), signature: signed.signature.toString('base64') })}\n`, 0o600);
    this.held = signed;
  }

  /** The list on disk, checked as a peer's would be: a file edited by hand proves nothing. */
  private load(): SignedList | undefined {
    const file = revocationsPath(this.deps.home);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.log.error({ err: describeError(err) }, `cannot read ${file}; peers will send the list again`);
      return undefined;
    }
    try {
      const raw = JSON.parse(text) as { list?: unknown; signature?: unknown };
      if (typeof raw.list !== 'string' || typeof raw.signature !== 'string') throw new Error('list or signature missing');
      const opened = openList(Buffer.from(raw.list, 'base64'), Buffer.from(raw.signature, 'base64'), this.deps.caPem);
      if (typeof opened === 'string') throw new Error(opened);
      return opened;
    } catch (err) {
      this.deps.log.error({ err: describeError(err) }, `${file} is not a valid revocation list; ignoring it (peers will send theirs)`);
      return undefined;
    }
  }
}
