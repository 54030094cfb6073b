// Preloaded by scripts/fuzz.mjs when JAZZER_ADDON is set: loads that file in place of
// @jazzer.js/fuzzer's prebuilt fuzzer-linux-x64.node. The prebuilt one of 4.0.0 needs
// glibc >= 2.38; on an older system (Debian 12) point JAZZER_ADDON at a copy rebuilt
// or relinked for it (see test/fuzz/README.md). Nothing else is redirected.
'use strict';
const load = process.dlopen;
const replacement = process.env.JAZZER_ADDON;
process.dlopen = function dlopen(module, filename, ...rest) {
  const isJazzerAddon = /[\\/]@jazzer\.js[\\/]fuzzer[\\/]prebuilds[\\/]fuzzer-linux-x64\.node$/.test(filename);
  return load.call(this, module, isJazzerAddon && replacement ? replacement : filename, ...rest);
};
