// Tree digest, adapted from ../shared/bench/treehash.mjs: sha256 over the sorted lines
//   "d <rel>\n", "f <rel>\0<size>\0<sha256>\n", "l <rel>\0<target>\n".
// Each tool's own metadata and temp files are ignored, so "converged" means the user-visible
// trees are equal. Per-file hashes are cached by (ino, size, mtime, ctime) so polling is cheap.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/** True for names that are tool metadata or in-flight temp files, never user data. */
export function ignored(name) {
  return (
    name === '.wizard' || // Wizard's marker/trash dir
    /^\.~wizard-.*\.tmp$/.test(name) || // Wizard's temp files
    name === '.stfolder' ||
    name === '.stversions' ||
    name === '.stignore' ||
    /^\.syncthing\..*\.tmp$/.test(name) ||
    /^~syncthing~.*\.tmp$/.test(name) ||
    name.startsWith('.unison') ||
    name.endsWith('.wzb-tmp') || // the generator's and the latency probe's own temp files
    name === 'lost+found'
  );
}

/** SHA-256 of a file, read in 4 MiB chunks. */
export function hashFile(p) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(p, 'r');
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  try {
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

const gone = (e) => e.code === 'ENOENT' || e.code === 'ENOTDIR';

/** Digest of the tree at `root`: { digest, files, bytes }; `cache` carries file hashes between calls. */
export function treeDigest(root, cache = new Map()) {
  const lines = [];
  let files = 0;
  let bytes = 0;
  const walk = (rel) => {
    let names;
    try {
      names = fs.readdirSync(rel ? path.join(root, rel) : root);
    } catch (e) {
      if (gone(e)) return;
      throw e;
    }
    names.sort();
    for (const name of names) {
      if (ignored(name)) continue;
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      let st;
      try {
        st = fs.lstatSync(p, { bigint: true });
      } catch (e) {
        if (gone(e)) continue;
        throw e;
      }
      if (st.isDirectory()) {
        lines.push(`d ${r}\n`);
        walk(r);
      } else if (st.isFile()) {
        const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
        let c = cache.get(r);
        if (!c || c.key !== key) {
          let h;
          try {
            h = hashFile(p);
          } catch (e) {
            if (gone(e)) continue;
            throw e;
          }
          c = { key, h };
          cache.set(r, c);
        }
        lines.push(`f ${r}\0${st.size}\0${c.h}\n`);
        files++;
        bytes += Number(st.size);
      } else if (st.isSymbolicLink()) {
        lines.push(`l ${r}\0${fs.readlinkSync(p)}\n`);
      }
    }
  };
  walk('');
  const h = crypto.createHash('sha256');
  for (const l of lines) h.update(l);
  return { digest: h.digest('hex'), files, bytes };
}
