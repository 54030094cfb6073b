/**
 * Downloads in progress, by the hash of the content they fetch. Deleting a
 * local file with that content waits for them: a download may be building
 * its file from ours (a rename arrives as a new path with known content plus
 * a deletion), and once ours is in the trash it would have to come over the
 * wire instead.
 */
export class ContentFetches {
  private readonly byHash = new Map<string, Set<Promise<unknown>>>();

  /** Records a download of content `hash` that settles with `done`. */
  add(hash: string, done: Promise<unknown>): void {
    let set = this.byHash.get(hash);
    if (set === undefined) this.byHash.set(hash, (set = new Set()));
    set.add(done);
    const forget = (): void => {
      set.delete(done);
      if (set.size === 0 && this.byHash.get(hash) === set) this.byHash.delete(hash);
    };
    done.then(forget, forget);
  }

  /** The downloads of content `hash` still in progress (none for undefined). */
  of(hash: string | undefined): Array<Promise<unknown>> {
    return hash === undefined ? [] : [...(this.byHash.get(hash) ?? [])];
  }
}
