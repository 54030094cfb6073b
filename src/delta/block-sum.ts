/**
 * The weak sum of a whole block through WebAssembly's SIMD (block-sum.wat),
 * about four times the speed of the JavaScript word loop in rollsum.ts here
 * (9.2 against 2.3 GB/s on 64 KiB blocks, copy in included). Every big file's
 * index entry and every download's block sums pay for it on each byte, so
 * this is most of what a block signature costs beside SHA-256.
 *
 * The compiled module is made once per thread, on first use, as a regular
 * expression is: a cache of code, not state. Where WebAssembly's SIMD is not
 * there (a CPU without SSE4.1), `blockSums` answers undefined and the caller
 * keeps to JavaScript: same sums, only slower.
 */
import { BLOCK_SUM_WASM } from './block-sum-wasm.js';

/** Below this many bytes the hop to WebAssembly and the copy cost more than the JavaScript loop saves. */
export const BLOCK_SUM_MIN_BYTES = 256;

const PAGE_BYTES = 64 * 1024;

/** What this module uses of the WebAssembly global, which the project's TypeScript libraries (no DOM) do not declare. */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: object };
};

export interface BlockSumModule {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly sums: (ptr: number, len: number) => number;
}

/** s1 and s2 of the bytes 0..255, before the offset: what a module must answer before it is used. */
const BYTES_0_TO_255_SUMS = ((0xaa80 << 16) | 0x7f80) >>> 0;

/**
 * The module made from `bytes` (base64), or null where it cannot be made or
 * run, or answers the check sum wrong: its first call is made here, so a
 * runtime that compiled it yet cannot run its SIMD is found here too.
 */
export function loadBlockSum(bytes: string): BlockSumModule | null {
  try {
    const mod = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(bytes, 'base64'))).exports as BlockSumModule;
    new Uint8Array(mod.memory.buffer, 0, 256).set(Uint8Array.from({ length: 256 }, (_, i) => i));
    return mod.sums(0, 256) >>> 0 === BYTES_0_TO_255_SUMS ? mod : null;
  } catch {
    return null;
  }
}

let compiled: BlockSumModule | null | undefined;

function blockSumModule(): BlockSumModule | null {
  // Made once, null included: a runtime without SIMD is not asked again at every block.
  if (compiled === undefined) compiled = loadBlockSum(BLOCK_SUM_WASM);
  return compiled;
}

/**
 * s1 and s2 of `buf[start..end)` before the character offset, as one number
 * (s2 in the high half, s1 in the low half), or undefined where WebAssembly's
 * SIMD cannot run. Copies the bytes into the module's memory, growing it for a
 * block larger than it holds.
 */
export function blockSums(buf: Uint8Array, start: number, end: number): number | undefined {
  const mod = blockSumModule();
  if (mod === null) return undefined;
  const length = end - start;
  if (length > mod.memory.buffer.byteLength) mod.memory.grow(Math.ceil((length - mod.memory.buffer.byteLength) / PAGE_BYTES));
  // A view made after any grow: growing detaches the old buffer.
  new Uint8Array(mod.memory.buffer, 0, length).set(buf.subarray(start, end));
  return mod.sums(0, length);
}
