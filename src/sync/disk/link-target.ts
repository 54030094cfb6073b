/**
 * Which symlinks a peer may have us create. A target's text alone does not
 * tell where the link leads, because links compose: `x/up -> ..` stays
 * inside, and so does `n -> x/up/../home` read as text, yet through `x/up`
 * that `..` climbs out of the folder. So a target may climb only at its
 * start: a run of `..` no longer than the link's depth, then names that only
 * descend. Every link Wizard makes then resolves inside the folder whatever
 * other links it meets, as long as those stay inside too: a link on the way
 * can only be one Wizard made (inside, by the same rule) or one the user
 * made, which is looked up on disk when the link is created.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { WIZARD_DIR } from '../../core/paths.js';

/**
 * Why a symlink at `linkRel` (a folder-relative path) must not point to
 * `target`, judged on the text alone; undefined when the text is fine.
 * The rule is stricter than "normalises to a path inside": no `..` may follow
 * a name, because the name may be a link (see the module comment).
 */
export function linkTargetProblem(linkRel: string, target: string): string | undefined {
  if (target === '') return 'the target is empty';
  if (target.includes('\0')) return 'the target contains NUL';
  if (target.includes('\\')) return 'the target contains a backslash';
  if (target.startsWith('/')) return 'the target is absolute';
  const depth = linkRel.split('/').length - 1;
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  let up = 0;
  while (parts[up] === '..') up++;
  if (up > depth) return 'the target climbs out of the folder';
  const down = parts.slice(up);
  if (down.includes('..')) return "the target climbs ('..') after a name, which can lead out through another link";
  if (up === depth && down[0]?.toLowerCase() === WIZARD_DIR) return `the target is inside Wizard's own ${WIZARD_DIR} dir`;
  return undefined;
}

/** Links followed in one resolution before it counts as a loop (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * linkTargetProblem, then the disk: where the target leads through links
 * already in the folder (ones the user made may point anywhere). Resolved
 * the way the kernel would, name by name, following each link on the way;
 * a part that does not exist yet is taken as written (a link to a dir that
 * is still to come, a link made earlier in the same batch). The target must
 * never climb above `root` and must not end in its `.wizard` dir.
 * Synchronous, so the answer holds for a link created in the same step,
 * before any other of our own operations runs.
 */
export function linkTargetEscape(root: string, linkRel: string, target: string): string | undefined {
  const problem = linkTargetProblem(linkRel, target);
  if (problem !== undefined) return problem;
  const where = linkRel.split('/').slice(0, -1);
  const queue = target.split('/');
  let links = 0;
  let missing = false;
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (where.length === 0) return 'the target leads out of the folder through a link already here';
      where.pop();
      continue;
    }
    where.push(name);
    if (missing) continue;
    const abs = path.join(root, ...where);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) {
      missing = true;
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return 'the target leads through a loop of links';
      const next = readlinkSync(abs);
      where.pop();
      if (next.startsWith('/')) {
        const inside = insideRoot(root, next);
        if (inside === undefined) return `the target leads out of the folder through ${where.concat(name).join('/')}, a link already here`;
        where.splice(0, where.length, ...inside);
      }
      queue.unshift(...next.split('/'));
    } else if (!st.isDirectory() && queue.some((p) => p !== '' && p !== '.')) {
      // A file on the way: the link resolves to nothing (ENOTDIR), so it leads nowhere.
      missing = true;
    }
  }
  if (where[0]?.toLowerCase() === WIZARD_DIR) return `the target leads into Wizard's own ${WIZARD_DIR} dir`;
  return undefined;
}

/** The names below `root` of the absolute path `abs`, or undefined when it is not inside `root` (as given, or as its real path). */
function insideRoot(root: string, abs: string): string[] | undefined {
  for (const base of new Set([path.resolve(root), realpathSync(root)])) {
    const back = path.relative(base, path.resolve(abs));
    if (back === '') return [];
    if (back !== '..' && !back.startsWith(`..${path.sep}`) && !path.isAbsolute(back)) return back.split(path.sep);
  }
  return undefined;
}
