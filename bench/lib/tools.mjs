// The other systems' binaries: installed with apt-get when missing (Debian/Ubuntu, as root).
import { run, runOk } from './proc.mjs';

/** Debian package that provides each system's binary. */
const PACKAGES = Object.freeze({ syncthing: 'syncthing', rsync: 'rsync' });

const has = async (bin) => (await run(bin, ['--version'], { timeoutMs: 20_000 })).code === 0;

/** Makes sure every system in `systems` has its binary, running `apt-get update` once and one install for all that are missing. */
export async function ensureTools(systems, log) {
  const missing = [];
  for (const s of systems) if (PACKAGES[s] && !(await has(s))) missing.push(PACKAGES[s]);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !(await has('apt-get'))) {
    throw new Error(`${missing.join(', ')} not installed and apt-get cannot run here (needs Debian/Ubuntu as root): install ${missing.join(' ')} and run again`);
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runOk('apt-get', ['update'], { env, timeoutMs: 600_000 });
  await runOk('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 900_000 });
  for (const s of systems) if (PACKAGES[s] && !(await has(s))) throw new Error(`${s} is still missing after apt-get install`);
}
