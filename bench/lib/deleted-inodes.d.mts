/** See deleted-inodes.mjs. */
export declare function retireRunDir(base: string): void;
export declare function noteDeletions(wzb: string): void;
export declare function waitOutDeletions(wzb: string, log: (line: string) => void): Promise<void>;
