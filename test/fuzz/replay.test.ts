/**
 * Replays the committed fuzz corpus (test/fuzz/corpus/<target>/, grown by
 * `npm run fuzz` under Jazzer.js) and the seeds through the same targets, in
 * process and without the fuzzer: every input the fuzzer found interesting
 * stays a regression test, and CI needs no native addon to run them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seedInputs } from './seeds.js';
import { FUZZ_TARGETS, type FuzzTargetName } from './targets.js';

const corpusRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

/** The committed inputs of `target`, by file name. */
function corpusOf(target: FuzzTargetName): Array<[string, Buffer]> {
  const dir = path.join(corpusRoot, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => [name, readFileSync(path.join(dir, name))]);
}

describe.each(Object.keys(FUZZ_TARGETS) as FuzzTargetName[])('fuzz target %s', (target) => {
  const run = FUZZ_TARGETS[target];

  it('accepts every seed (one valid message of each type) without a finding', () => {
    for (const seed of seedInputs()[target]) run(seed);
  });

  it('replays the committed corpus without a finding', () => {
    const inputs = corpusOf(target);
    // An empty corpus would make this pass on nothing: the corpus is committed with the targets.
    expect(inputs.length, `no corpus under test/fuzz/corpus/${target}`).toBeGreaterThan(10);
    const findings: string[] = [];
    for (const [name, data] of inputs) {
      try {
        run(data);
      } catch (err) {
        findings.push(`${name}: ${String(err)}`);
      }
    }
    expect(findings).toEqual([]);
  });
});
