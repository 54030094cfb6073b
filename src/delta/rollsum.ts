/**
 * The rsync weak rolling checksum, exactly as librsync's `rollsum.h` ("rrs0":
 * M = 2^16, character offset 31), so its published test vectors pin ours.
 * Both halves stay small integers masked to 16 bits, which V8 keeps as SMIs.
 */

/** Added to every byte so runs of zeros still move the sum (librsync ROLLSUM_CHAR_OFFSET). */
export const CHAR_OFFSET = 31;

/** A rolling sum over a window of bytes: roll bytes in and out, or rotate one out and one in. */
export class Rollsum {
  count = 0;
  s1 = 0;
  s2 = 0;

  /** Adds `buf[start..end)` to the window (librsync RollsumUpdate). */
  update(buf: Uint8Array, start = 0, end = buf.length): void {
    let s1 = this.s1;
    let s2 = this.s2;
    for (let i = start; i < end; i++) {
      s1 = (s1 + (buf[i] as number)) & 0xffff;
      s2 = (s2 + s1) & 0xffff;
    }
    const n = end - start;
    // The offset is added once at the end, as librsync does: n*C to s1 and C*n(n+1)/2 to s2 (mod 2^16).
    s1 = (s1 + n * CHAR_OFFSET) & 0xffff;
    s2 = (s2 + triangleMod16(n) * CHAR_OFFSET) & 0xffff;
    this.s1 = s1;
    this.s2 = s2;
    this.count += n;
  }

  /** Appends one byte to the window. */
  rollIn(c: number): void {
    this.s1 = (this.s1 + c + CHAR_OFFSET) & 0xffff;
    this.s2 = (this.s2 + this.s1) & 0xffff;
    this.count++;
  }

  /** Drops the window's first byte, `c`. */
  rollOut(c: number): void {
    this.s1 = (this.s1 - (c + CHAR_OFFSET)) & 0xffff;
    this.s2 = (this.s2 - this.count * (c + CHAR_OFFSET)) & 0xffff;
    this.count--;
  }

  /** Slides the window one byte: `out` leaves at the front, `inb` enters at the back. */
  rotate(out: number, inb: number): void {
    this.s1 = (this.s1 + inb - out) & 0xffff;
    this.s2 = (this.s2 + this.s1 - this.count * (out + CHAR_OFFSET)) & 0xffff;
  }

  /** The 32-bit weak sum: s2 in the high half, s1 in the low half. */
  digest(): number {
    return ((this.s2 << 16) | this.s1) >>> 0;
  }
}

/** n(n+1)/2 mod 2^16 without leaving exact integer range: halve the even factor first. */
function triangleMod16(n: number): number {
  const [a, b] = n % 2 === 0 ? [n / 2, n + 1] : [n, (n + 1) / 2];
  return ((a % 65536) * (b % 65536)) % 65536;
}

/** The weak sum of `buf[start..end)` in one call, without an object. */
export function weakSum(buf: Uint8Array, start = 0, end = buf.length): number {
  const r = new Rollsum();
  r.update(buf, start, end);
  return r.digest();
}
