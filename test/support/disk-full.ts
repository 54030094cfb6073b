/**
 * A disk that fills up, for tests of what a download leaves behind: temp
 * files open for real through the download's `openTemp` seam, and their
 * writes fail with ENOSPC once `bytes` were written in all (node:fs itself is left alone).
 */
import { open, type FileHandle } from 'node:fs/promises';

/** Temp files whose writes fail with ENOSPC once `bytes` were written in all; `freed` makes room again. */
export function diskFullAfter(bytes: number): { openTemp: (file: string) => Promise<FileHandle>; freed: () => void } {
  let room = bytes;
  const openTemp = async (file: string): Promise<FileHandle> => {
    const fh = await open(file, 'wx+', 0o600);
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'write') {
          return (buf: Buffer, offset: number, length: number, position: number) => {
            if (length > room) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }));
            room -= length;
            return target.write(buf, offset, length, position);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return { openTemp, freed: () => (room = Number.POSITIVE_INFINITY) };
}
