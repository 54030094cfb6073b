/** A digest cache: per relative path, the stat key and SHA-256 of the file when it was last hashed. */
export type DigestCache = Map<string, { key: string; h: string }>;
/** The digest cache of `dir` as it is now, for a waitSync that starts after a change. */
export declare function primeDigest(dir: string): DigestCache;
/** Resolves once `dir` has digest `expected`: `ms` from `t0` to the start of the first matching scan. */
export declare function waitSync(dir: string, expected: string, t0: number, opts?: { timeoutMs?: number; minIntervalMs?: number; cache?: DigestCache }): Promise<{ ok: boolean; ms: number }>;
