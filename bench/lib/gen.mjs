#!/usr/bin/env node
// Deterministic, seeded workload generator, adapted from ../shared/bench/gen-workload.mjs.
// With the full profile and the same seed it writes byte-identical trees to that script
// (same streams, same PRNG draws), so Wizard gets exactly the data the anchors got.
//
//   node bench/lib/gen.mjs <workload> <target> [--seed N] [--quick]
//
// Creation workloads (<target> is a directory): small, big, shift, burst, mixedbig,
// mixedsmall, scale, scale1m, comptext1/2, comprand1/2. Mutations (<target> is a file): edit (pwrite 4 KiB at floor(size/2)),
// shiftins (insert 100 bytes at offset 0 via temp file + rename).
// Random bytes are the AES-256-CTR keystream keyed by sha256("<seed>:<stream>").
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { profileFor } from './profile.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;

class ByteStream {
  constructor(seed, label) {
    const key = crypto.createHash('sha256').update(`${seed}:${label}`).digest();
    this.cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16, 0));
  }
  bytes(n) {
    return this.cipher.update(Buffer.alloc(n));
  }
}

// mulberry32: tiny, fast and identical to the shared generator's size/placement draws.
function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const seedInt = (seed, label) => crypto.createHash('sha256').update(`${seed}:${label}`).digest().readUInt32LE(0);
const randInt = (rng, lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));

function writeRandomFile(file, size, stream) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = size; left > 0; left -= 8 * MiB) fs.writeSync(fd, stream.bytes(Math.min(left, 8 * MiB)));
  } finally {
    fs.closeSync(fd);
  }
}

// `top` dirs dNN, each with `sub` children sM; files go into all of them.
function nestedDirs(top, sub) {
  const width = top > 10 ? 3 : 2;
  const dirs = [];
  for (let i = 0; i < top; i++) {
    const t = `d${String(i).padStart(width, '0')}`;
    dirs.push(t);
    for (let j = 0; j < sub; j++) dirs.push(`${t}/s${j}`);
  }
  return dirs;
}

function genManyFiles(dir, seed, label, spec, dirs, prefix) {
  const rng = mulberry32(seedInt(seed, `${label}:rng`));
  const stream = new ByteStream(seed, `${label}:data`);
  for (const d of dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
  let total = 0;
  for (let i = 0; i < spec.files; i++) {
    const d = dirs[Math.floor(rng() * dirs.length)];
    const size = randInt(rng, spec.minBytes, spec.maxBytes);
    fs.writeFileSync(path.join(dir, d, `${prefix}${String(i).padStart(5, '0')}.bin`), stream.bytes(size));
    total += size;
  }
  return total;
}

// Text-like, compressible data (gzip -1 ratio ~2.4): words from a seeded 2,048-word vocabulary.
function vocabulary(seed) {
  const rng = mulberry32(seedInt(seed, 'big:vocab'));
  const letters = 'etaoinshrdlucmfwypvbgkjqxz';
  const vocab = [];
  for (let i = 0; i < 2048; i++) {
    const len = randInt(rng, 2, 10);
    let w = '';
    for (let k = 0; k < len; k++) w += letters[Math.floor(Math.pow(rng(), 1.7) * 26)];
    vocab.push(Buffer.from(w));
  }
  return vocab;
}

function writeTextLike(fd, size, seed) {
  const vocab = vocabulary(seed);
  const pick = new ByteStream(seed, 'big:textpick');
  const chunk = Buffer.alloc(4 * MiB + 64);
  let written = 0;
  let wordsOnLine = 0;
  while (written < size) {
    const want = Math.min(4 * MiB, size - written);
    const r = pick.bytes(want);
    let p = 0;
    let ri = 0;
    while (p < want) {
      const w = vocab[(r[ri] | (r[ri + 1] << 8)) & 2047];
      ri += 2;
      w.copy(chunk, p);
      p += w.length;
      if (++wordsOnLine >= 12) {
        chunk[p++] = 10;
        wordsOnLine = 0;
      } else chunk[p++] = 32;
    }
    fs.writeSync(fd, chunk, 0, want);
    written += want;
  }
}

// Log-like lines (COMPRESS): timestamp, level, component, key=value fields and 4-12 words of
// BIG's vocabulary; `label` seeds the draws, so two labels give different bytes of one kind.
const LEVELS = ['INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'];
const COMPONENTS = ['sync.puller', 'sync.scanner', 'transport.session', 'index.db', 'watch', 'config', 'delta.encoder', 'cli.control'];
function writeLogLike(file, size, seed, label) {
  const words = vocabulary(seed).map((b) => b.toString());
  const rng = mulberry32(seedInt(seed, `${label}:log`));
  const fd = fs.openSync(file, 'w');
  let t = Date.UTC(2026, 0, 1);
  try {
    for (let written = 0; written < size; ) {
      const lines = [];
      let bytes = 0;
      while (bytes < 4 * MiB) {
        t += randInt(rng, 0, 250);
        let line = `${new Date(t).toISOString()} ${LEVELS[Math.floor(rng() * 8)]} ${COMPONENTS[Math.floor(rng() * 8)]} folder=f${randInt(rng, 1, 40)} peer=n${randInt(rng, 1, 12)}`;
        for (let k = randInt(rng, 4, 12); k > 0; k--) line += ` ${words[Math.floor(rng() * rng() * 2048)]}`;
        line += ` bytes=${randInt(rng, 0, 1 << 20)} ms=${randInt(rng, 0, 900)}\n`;
        lines.push(line);
        bytes += line.length;
      }
      const buf = Buffer.from(lines.join(''));
      const n = Math.min(buf.length, size - written);
      fs.writeSync(fd, buf, 0, n);
      written += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Names of the workloads `generate` knows. */
export const GENERATORS = ['small', 'big', 'big4g', 'shift', 'burst', 'mixedbig', 'mixedsmall', 'scale', 'scale1m', 'comptext1', 'comptext2', 'comprand1', 'comprand2', 'edit', 'shiftins'];

/** Writes one workload into `target` (a dir, or the file to mutate); returns a one-line description. */
export function generate(workload, target, { seed = 1, profile = profileFor(false) } = {}) {
  switch (workload) {
    case 'small': {
      fs.mkdirSync(target, { recursive: true });
      const total = genManyFiles(target, seed, 'small', profile.small, nestedDirs(10, 9), 'f');
      return `files=${profile.small.files} bytes=${total}`;
    }
    case 'burst': {
      fs.mkdirSync(target, { recursive: true });
      const dirs = Array.from({ length: 10 }, (_, i) => `out${i}`);
      const total = genManyFiles(target, seed, 'burst', profile.burst, dirs, 'o');
      return `files=${profile.burst.files} bytes=${total}`;
    }
    case 'scale': {
      fs.mkdirSync(target, { recursive: true });
      const total = genManyFiles(target, seed, 'scale', profile.scale, nestedDirs(100, 9), 'f');
      return `files=${profile.scale.files} bytes=${total}`;
    }
    case 'scale1m': {
      // SCALE's generator with SCALE-1M's count and dirs (its own seed label: other bytes than SCALE's).
      fs.mkdirSync(target, { recursive: true });
      const total = genManyFiles(target, seed, 'scale1m', profile.scale1m, nestedDirs(profile.scale1m.topDirs, 9), 'f');
      return `files=${profile.scale1m.files} bytes=${total}`;
    }
    case 'mixedsmall': {
      fs.mkdirSync(target, { recursive: true });
      const rng = mulberry32(seedInt(seed, 'mixedsmall:rng'));
      const stream = new ByteStream(seed, 'mixedsmall:data');
      let total = 0;
      for (let i = 0; i < profile.mixedSmallFiles; i++) {
        const size = randInt(rng, 1 * KiB, 8 * KiB);
        fs.writeFileSync(path.join(target, `small-${String(i).padStart(3, '0')}.bin`), stream.bytes(size));
        total += size;
      }
      return `files=${profile.mixedSmallFiles} bytes=${total}`;
    }
    case 'big': {
      fs.mkdirSync(target, { recursive: true });
      const half = profile.bigBytes / 2;
      const fd = fs.openSync(path.join(target, 'big.bin'), 'w');
      try {
        writeTextLike(fd, half, seed);
        const stream = new ByteStream(seed, 'big:random');
        for (let left = half; left > 0; left -= 8 * MiB) fs.writeSync(fd, stream.bytes(Math.min(left, 8 * MiB)));
      } finally {
        fs.closeSync(fd);
      }
      return `file=big.bin bytes=${profile.bigBytes}`;
    }
    case 'big4g':
      fs.mkdirSync(target, { recursive: true });
      writeRandomFile(path.join(target, 'big4g.bin'), profile.big4gBytes, new ByteStream(seed, 'big4g'));
      return `file=big4g.bin bytes=${profile.big4gBytes}`;
    case 'shift':
      fs.mkdirSync(target, { recursive: true });
      writeRandomFile(path.join(target, 'shift.bin'), profile.shiftBytes, new ByteStream(seed, 'shift'));
      return `file=shift.bin bytes=${profile.shiftBytes}`;
    case 'mixedbig':
      fs.mkdirSync(target, { recursive: true });
      writeRandomFile(path.join(target, 'mixed-big.bin'), profile.mixedBigBytes, new ByteStream(seed, 'mixedbig'));
      return `file=mixed-big.bin bytes=${profile.mixedBigBytes}`;
    // COMPRESS: two log-like text files and two random files of one size, each in its own dir;
    // a pair never shares bytes, so no system can copy the second of a kind from the first.
    case 'comptext1':
    case 'comptext2':
      fs.mkdirSync(target, { recursive: true });
      writeLogLike(path.join(target, 'text.log'), profile.compress.bytes, seed, workload);
      return `file=text.log bytes=${profile.compress.bytes}`;
    case 'comprand1':
    case 'comprand2':
      fs.mkdirSync(target, { recursive: true });
      writeRandomFile(path.join(target, 'random.bin'), profile.compress.bytes, new ByteStream(seed, workload));
      return `file=random.bin bytes=${profile.compress.bytes}`;
    case 'edit': {
      const off = Math.floor(fs.statSync(target).size / 2);
      const fd = fs.openSync(target, 'r+');
      try {
        fs.writeSync(fd, new ByteStream(seed, 'edit').bytes(4 * KiB), 0, 4 * KiB, off);
      } finally {
        fs.closeSync(fd);
      }
      return `offset=${off} len=4096`;
    }
    case 'shiftins': {
      const tmp = path.join(path.dirname(target), `.${path.basename(target)}.wzb-tmp`);
      const out = fs.openSync(tmp, 'w');
      const inp = fs.openSync(target, 'r');
      try {
        fs.writeSync(out, new ByteStream(seed, 'shiftins').bytes(100));
        const buf = Buffer.alloc(8 * MiB);
        let n;
        while ((n = fs.readSync(inp, buf, 0, buf.length, null)) > 0) fs.writeSync(out, buf, 0, n);
      } finally {
        fs.closeSync(inp);
        fs.closeSync(out);
      }
      fs.renameSync(tmp, target);
      return 'inserted=100 at=0';
    }
    default:
      throw new Error(`unknown workload '${workload}' (one of ${GENERATORS.join(', ')})`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const pos = [];
  let seed = 1;
  let quick = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--seed') seed = Number(args[++i]);
    else if (args[i] === '--quick') quick = true;
    else pos.push(args[i]);
  }
  const [workload, target] = pos;
  if (!workload || !target || !Number.isInteger(seed)) {
    console.error(`usage: gen.mjs <${GENERATORS.join('|')}> <dir|file> [--seed N] [--quick]`);
    process.exit(2);
  }
  try {
    const info = generate(workload, target, { seed, profile: profileFor(quick) });
    console.error(`gen ${workload} seed=${seed} ${info}`);
  } catch (err) {
    console.error(`gen: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
