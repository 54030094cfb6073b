// The compile of src/delta/block-sum.wat, shared by scripts/build-block-sum.mjs and its test.
import fs from 'node:fs';
import wabtInit from 'wabt';

/** The module's bytes, base64. */
export async function compileBlockSum() {
  const wabt = await wabtInit();
  const source = fs.readFileSync(new URL('../src/delta/block-sum.wat', import.meta.url), 'utf8');
  const parsed = wabt.parseWat('block-sum.wat', source, { simd: true });
  try {
    parsed.validate();
    return Buffer.from(parsed.toBinary({}).buffer).toString('base64');
  } finally {
    parsed.destroy();
  }
}
