/** The compile of src/delta/block-sum.wat, base64. */
export function compileBlockSum(): Promise<string>;
