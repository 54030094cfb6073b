#!/usr/bin/env python3
"""A workaround for old glibc, for `npm run fuzz` only (CI never needs it: it replays the corpus without the addon).

@jazzer.js/fuzzer 4.0.0 ships fuzzer-linux-x64.node built against glibc 2.38 and GCC 13's libstdc++,
and it asks for three things Debian 12 (glibc 2.36, GLIBCXX up to 3.4.30) lacks:
  - __isoc23_strtol / __isoc23_strtoul (GLIBC_2.38): C23's strtol, which differs from the plain one only in
    also reading "0b" prefixes; the names are suffixes of the same .dynstr strings, so st_name + 9 names strtol/strtoul;
  - the version entry GLIBC_2.38, renamed to GLIBC_2.2.5 (where strtol/strtoul are);
  - the version entry GLIBCXX_3.4.32, needed only by _ZSt21ios_base_library_initv, GCC 13's no-op iostream
    init, which no relocation uses (so it is never looked up): renamed to GLIBCXX_3.4.30.
Usage: python3 scripts/jazzer-old-glibc.py node_modules/@jazzer.js/fuzzer/prebuilds/fuzzer-linux-x64.node /tmp/fuzzer.node
then JAZZER_ADDON=/tmp/fuzzer.node npm run fuzz. On glibc >= 2.38 (Debian 13, Ubuntu 24.04) none of this is needed.
"""
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = bytearray(open(src, 'rb').read())
def u16(o): return struct.unpack_from('<H', b, o)[0]
def u32(o): return struct.unpack_from('<I', b, o)[0]
def u64(o): return struct.unpack_from('<Q', b, o)[0]
shoff, shentsize, shnum, shstrndx = u64(0x28), u16(0x3a), u16(0x3c), u16(0x3e)
secs = []
for i in range(shnum):
    o = shoff + i * shentsize
    secs.append(dict(name=u32(o), type=u32(o+4), off=u64(o+0x18), size=u64(o+0x20), link=u32(o+0x28), entsize=u64(o+0x38)))
shstr = secs[shstrndx]
def secname(s):
    o = shstr['off'] + s['name']; e = b.index(0, o); return b[o:e].decode()
by = {secname(s): s for s in secs}
dynsym, dynstr, verneed = by['.dynsym'], by['.dynstr'], by['.gnu.version_r']
def cstr(o):
    e = b.index(0, o); return b[o:e].decode()
def dstr(off): return cstr(dynstr['off'] + off)
def find_dynstr(s):
    data = bytes(b[dynstr['off']:dynstr['off'] + dynstr['size']])
    i = data.find(b'\0' + s.encode() + b'\0')
    if i < 0: raise SystemExit('no dynstr ' + s)
    return i + 1
def elf_hash(name):
    h = 0
    for c in name.encode():
        h = ((h << 4) + c) & 0xffffffff
        g = h & 0xf0000000
        if g: h ^= g >> 24
        h &= ~g & 0xffffffff
    return h
# 1. the two C23 parsers become the plain ones (same suffix of the same string)
n = dynsym['size'] // 24
for i in range(n):
    o = dynsym['off'] + i * 24
    name = dstr(u32(o))
    if name in ('__isoc23_strtol', '__isoc23_strtoul'):
        struct.pack_into('<I', b, o, u32(o) + 9)
        print('symbol', i, name, '->', dstr(u32(o)))
# 2. version-needed entries: GLIBC_2.38 -> GLIBC_2.2.5, GLIBCXX_3.4.32 -> GLIBCXX_3.4.30
swap = {'GLIBC_2.38': 'GLIBC_2.2.5', 'GLIBCXX_3.4.32': 'GLIBCXX_3.4.30'}
o = verneed['off']
while True:
    vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from('<HHIII', b, o)
    a = o + vn_aux
    for _ in range(vn_cnt):
        vna_hash, vna_flags, vna_other, vna_name, vna_next = struct.unpack_from('<IHHII', b, a)
        name = dstr(vna_name)
        if name in swap:
            new = swap[name]
            struct.pack_into('<I', b, a, elf_hash(new))
            struct.pack_into('<I', b, a + 8, find_dynstr(new))
            print('verneed', dstr(vn_file), name, '->', new)
        a += vna_next
    if vn_next == 0: break
    o += vn_next
open(dst, 'wb').write(b)
