/**
 * Pairing requests waiting for a person (`trust: allowlist`): a node the CA
 * signed but this node has not recorded asked to pair. It waits in `wizard
 * status` until `wizard peer accept PEER` records it. Kept in memory only: a
 * request lost to a restart is asked again by running `wizard pair` again.
 */

/** One waiting request. */
export interface PairingRequest {
  readonly id: string;
  readonly name: string;
  /** Where to dial it back ('' when it listens nowhere). */
  readonly address: string;
  /** Folder IDs it offered to share. */
  readonly folders: string[];
  readonly atMs: number;
}

/** Requests kept at most: a flood of CA-signed nodes must not grow the daemon without bound. */
const MAX_REQUESTS = 16;

/** The waiting requests, newest last. */
export class PairingRequests {
  private readonly requests = new Map<string, PairingRequest>();

  /** Records (or renews) a request; past the cap the oldest goes. */
  add(request: PairingRequest): void {
    this.requests.delete(request.id);
    this.requests.set(request.id, request);
    while (this.requests.size > MAX_REQUESTS) {
      const oldest = this.requests.keys().next().value;
      if (oldest === undefined) break;
      this.requests.delete(oldest);
    }
  }

  /** The waiting requests, oldest first. */
  list(): PairingRequest[] {
    return [...this.requests.values()];
  }

  /** Removes and returns the request of node `id`. */
  take(id: string): PairingRequest | undefined {
    const request = this.requests.get(id);
    this.requests.delete(id);
    return request;
  }
}
