/** See treehash.mjs: the digest of the tree at `root`; `cache` carries file hashes between calls. */
export declare function treeDigest(root: string, cache?: Map<string, { key: string; h: string }>): { digest: string; files: number; bytes: number };
