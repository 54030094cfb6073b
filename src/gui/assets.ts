/**
 * The page's files, read once when the server starts and served from memory
 * by exact URL: no path is ever built from a request, so no request can
 * reach another file. The page is web/ (shipped in the package beside
 * dist/); preact with hooks and htm is htm's one-file ES module, from
 * node_modules, so it also works from the npm tarball. No CDN, no bundler.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One file to serve. */
export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** URL → file. */
export type Assets = ReadonlyMap<string, Asset>;

const WEB_DIR = new URL('../../web/', import.meta.url);

/** Reads the page's files. */
export function loadAssets(): Assets {
  const web = (name: string) => readFileSync(new URL(name, WEB_DIR));
  const js = 'text/javascript; charset=utf-8';
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: web('index.html') }],
    ['/app.js', { type: js, body: web('app.js') }],
    ['/style.css', { type: 'text/css; charset=utf-8', body: web('style.css') }],
    ['/icon.svg', { type: 'image/svg+xml', body: web('icon.svg') }],
    ['/vendor/preact-htm.js', { type: js, body: readFileSync(fileURLToPath(import.meta.resolve('htm/preact/standalone'))) }],
  ]);
}
