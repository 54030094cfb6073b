// The block API of `lz4` (native LZ4 via its binding); the package ships no types.
declare module 'lz4' {
  /** Upper bound of a compressed block for `size` input bytes. */
  export function encodeBound(size: number): number;
  /** Compresses `input` into `output`; returns the compressed length, 0 when it does not fit. */
  export function encodeBlock(input: Buffer, output: Buffer): number;
  /** LZ4_decompress_safe: never writes past `output`; returns the decoded length, negative on bad input. */
  export function decodeBlock(input: Buffer, output: Buffer): number;
}
