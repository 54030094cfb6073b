/**
 * Introductions the inviter could not deliver yet because the peer was not
 * connected when a node joined: kept in the home's introductions.json, so a
 * restart of the inviter before that peer comes back does not lose them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../core/atomic-file.js';
import { describeError } from '../core/errors.js';
import type { IntroducedPeer } from '../protocol/messages.js';
import { validateIntroduce } from '../protocol/validate-trust.js';

/** Undelivered introductions, by the peer they are for. */
export class PendingIntroductions {
  private readonly byPeer: Map<string, IntroducedPeer[]>;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {
    this.byPeer = this.load();
  }

  /** The file a home keeps them in. */
  static pathIn(home: string): string {
    return path.join(home, 'introductions.json');
  }

  /** Keeps `peer` for `to` until `take`. */
  add(to: string, peer: IntroducedPeer): void {
    this.byPeer.set(to, [...(this.byPeer.get(to) ?? []).filter((p) => p.id !== peer.id), peer]);
    this.save();
  }

  /** What waits for `to`, forgotten as it is handed out. */
  take(to: string): IntroducedPeer[] {
    const waiting = this.byPeer.get(to) ?? [];
    if (waiting.length > 0) {
      this.byPeer.delete(to);
      this.save();
    }
    return waiting;
  }

  private save(): void {
    try {
      writeFileAtomic(this.file, `${JSON.stringify(Object.fromEntries(this.byPeer))}\n`, 0o600);
    } catch (err) {
      this.log.error({ err: describeError(err) }, 'could not keep introductions waiting for a peer; they are held until a restart only');
    }
  }

  /** The file's introductions, each checked as if a peer had sent it (the file is ours, but a hand edit must not reach the wire malformed). */
  private load(): Map<string, IntroducedPeer[]> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err: describeError(err) }, `cannot read ${this.file}; waiting introductions are lost`);
      return new Map();
    }
    try {
      const raw = JSON.parse(text) as Record<string, unknown[]>;
      return new Map(Object.entries(raw).map(([to, list]) => [to, list.map((peer) => validateIntroduce({ peer }).peer)]));
    } catch (err) {
      this.log.error({ err: describeError(err) }, `${this.file} is damaged; waiting introductions are lost`);
      return new Map();
    }
  }
}
