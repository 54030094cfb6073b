/**
 * Spots files moved into place: the end of an atomic save (an editor writes
 * a temp file, then renames it over the document). Such a file is complete
 * the moment its name appears, so it needs no quiet window before it is
 * hashed and sent; a file created by name is still being written, so it
 * does. inotify tells the two apart (IN_MOVED_TO, IN_CREATE), but fs.watch
 * reports both as 'rename'. What fs.watch does show: the kernel queues a
 * rename's two halves together, so they are read in one turn of the event
 * loop, and in that turn one name in the dir is gone and one has appeared.
 * A name appearing beside a name vanishing in the same turn is taken as
 * moved in. When that guess is wrong (a file created while another is
 * deleted in the same instant), the file is only hashed early: a write that
 * goes on during the hash is caught by the stat check around it, and a later
 * write is a later change, as with any quiet window.
 */

/** Collects one loop turn's appearances and vanishings; pure. */
export class MoveSpotter {
  private readonly appeared: string[] = [];
  private readonly vanishedIn = new Set<string>();

  /** A regular file appeared at `rel` (a 'rename' event, and it is there). */
  fileAppeared(rel: string): void {
    this.appeared.push(rel);
  }

  /** A name vanished at `rel` (a 'rename' event, and nothing is there). */
  vanished(rel: string): void {
    this.vanishedIn.add(dirOf(rel));
  }

  /** Whether the turn saw anything this spotter looks at. */
  get isEmpty(): boolean {
    return this.appeared.length === 0 && this.vanishedIn.size === 0;
  }

  /** The files of this turn taken as moved into place, and a fresh start for the next turn. */
  take(): string[] {
    const moved = this.vanishedIn.size === 0 ? [] : [...new Set(this.appeared.filter((rel) => this.vanishedIn.has(dirOf(rel))))];
    this.appeared.length = 0;
    this.vanishedIn.clear();
    return moved;
  }
}

function dirOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}
