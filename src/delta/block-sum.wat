;; The sums under the rsync weak checksum of one block (rollsum.ts), 16 bytes a step with
;; WebAssembly's 128-bit SIMD. Compiled by scripts/build-block-sum.mjs into block-sum-wasm.ts.
;;
;; For bytes b_0..b_{n-1}: s1 = sum b_i and s2 = sum (n - i) b_i, both mod 2^16 (the character
;; offset is added by the caller, as Rollsum.update adds it). Over one 16-byte step starting with
;; the running sum S1, s2 grows by 16 S1 + sum_j (16 - j) b_j and s1 by sum_j b_j. The lanes add
;; in i32 and wrap mod 2^32, which keeps every sum exact mod 2^16, so no step reduces anything.
(module
  ;; Two pages: a block of up to 64 KiB (signature.ts MAX_BLOCK_BYTES) copied in at 0; grown by the caller for more.
  (memory (export "memory") 2)
  (func (export "sums") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $vend i32) (local $s1 i32) (local $s2 i32)
    (local $v v128) (local $s1v v128) (local $before v128) (local $weighted v128)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $vend (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -16))))
    (block $steps_done
      (loop $steps
        (br_if $steps_done (i32.ge_u (local.get $ptr) (local.get $vend)))
        (local.set $v (v128.load (local.get $ptr)))
        ;; The running sums before this step, each to count 16 times in s2.
        (local.set $before (i32x4.add (local.get $before) (local.get $s1v)))
        (local.set $s1v
          (i32x4.add (local.get $s1v)
            (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $v)))))
        ;; Byte j of the step weighs 16 - j: the low eight bytes 16..9, the high eight 8..1.
        (local.set $weighted
          (i32x4.add (local.get $weighted)
            (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $v)) (v128.const i16x8 16 15 14 13 12 11 10 9))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $v)) (v128.const i16x8 8 7 6 5 4 3 2 1)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $steps)))
    (local.set $s1
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $s1v)) (i32x4.extract_lane 1 (local.get $s1v)))
        (i32.add (i32x4.extract_lane 2 (local.get $s1v)) (i32x4.extract_lane 3 (local.get $s1v)))))
    (local.set $s2
      (i32.add
        (i32.shl
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $before)) (i32x4.extract_lane 1 (local.get $before)))
            (i32.add (i32x4.extract_lane 2 (local.get $before)) (i32x4.extract_lane 3 (local.get $before))))
          (i32.const 4))
        (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $weighted)) (i32x4.extract_lane 1 (local.get $weighted)))
          (i32.add (i32x4.extract_lane 2 (local.get $weighted)) (i32x4.extract_lane 3 (local.get $weighted))))))
    ;; The last len mod 16 bytes one at a time.
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $s1 (i32.add (local.get $s1) (i32.load8_u (local.get $ptr))))
        (local.set $s2 (i32.add (local.get $s2) (local.get $s1)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $tail)))
    ;; s2 in the high half, s1 in the low half, as Rollsum.digest (before the offset).
    (i32.or (i32.shl (local.get $s2) (i32.const 16)) (i32.and (local.get $s1) (i32.const 0xffff)))))
