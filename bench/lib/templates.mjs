// Workload templates: generated once per (profile, seed) under $WZB, with the digest each
// side B must reach. Every system copies the same template, so all get identical bytes.
import fs from 'node:fs';
import path from 'node:path';
import { generate } from './gen.mjs';
import { treeDigest } from './treehash.mjs';
import { place } from './proc.mjs';

/** Templates each workload group needs ("big-edit"/"shift-ins" are digests of mutated copies). */
export const TEMPLATE_NEEDS = Object.freeze({
  LAT: [],
  SMALL: ['small'],
  BIG: ['big', 'big-edit'],
  SHIFT: ['shift', 'shift-ins'],
  BIG4G: ['big4g', 'big4g-edit'],
  BURST: ['burst'],
  MIXED: ['mixedbig', 'mixedsmall'],
  SCALE: ['scale'],
  SCALE1M: ['scale1m'],
  COMPRESS: ['comptext1', 'comptext2', 'comprand1', 'comprand2'],
});

/** Where the templates of one profile and seed live under $WZB. */
export function templateRoot(wzb, profile, seed) {
  return path.join(wzb, `tpl-${profile.name}-seed${seed}`);
}

/** Generates the missing templates for `groups`; returns { root, dir(name), digest(name), info(name) }. */
export async function ensureTemplates({ wzb, profile, seed, groups, log }) {
  const root = templateRoot(wzb, profile, seed);
  fs.mkdirSync(root, { recursive: true });
  const indexFile = path.join(root, 'digests.json');
  const digests = fs.existsSync(indexFile) ? JSON.parse(fs.readFileSync(indexFile, 'utf8')) : {};
  const save = () => fs.writeFileSync(indexFile, JSON.stringify(digests, null, 2));
  const wanted = [...new Set(groups.flatMap((g) => TEMPLATE_NEEDS[g.name] ?? []))];
  const gen = (name) => {
    const dir = path.join(root, name);
    fs.rmSync(dir, { recursive: true, force: true });
    const t0 = Date.now();
    const info = generate(name, dir, { seed, profile });
    const d = treeDigest(dir);
    digests[name] = { digest: d.digest, files: d.files, bytes: d.bytes, info };
    save();
    log(`generated ${name} (${info}) in ${Date.now() - t0} ms`);
  };
  // A mutated template's digest: copy the original, mutate the copy, digest it, drop it.
  const mutated = async (name, base, file, mutation) => {
    if (!digests[base]) gen(base);
    const tmp = path.join(wzb, `tmp-${name}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    await place(path.join(root, base), tmp);
    generate(mutation, path.join(tmp, file), { seed, profile });
    const d = treeDigest(tmp);
    digests[name] = { digest: d.digest, files: d.files, bytes: d.bytes, info: mutation };
    save();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  for (const name of wanted) {
    if (digests[name] && (name.includes('-') || fs.existsSync(path.join(root, name)))) continue;
    if (name === 'big-edit') await mutated(name, 'big', 'big.bin', 'edit');
    else if (name === 'shift-ins') await mutated(name, 'shift', 'shift.bin', 'shiftins');
    else if (name === 'big4g-edit') await mutated(name, 'big4g', 'big4g.bin', 'edit');
    else gen(name);
  }
  return {
    root,
    dir: (name) => path.join(root, name),
    digest: (name) => digests[name].digest,
    info: (name) => digests[name],
  };
}
