/**
 * The web page's actions, bound to the CLI's own functions: the daemon's
 * control handler for what the daemon alone knows (status, resume, invite),
 * and the commands' functions for what works on the home and the folders
 * (conflicts, trash, the invite list), with the config read fresh from the
 * file as each command reads it. One implementation, two faces.
 */
import { InvalidArgumentError } from 'commander';
import { readConfig } from '../config/file.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../core/errors.js';
import { conflictKeep, conflictList } from '../cli/conflicts.js';
import { type ControlSend, inviteList, makeInvite, parseDuration } from '../cli/enrol-commands.js';
import { foldersOf } from '../cli/locate.js';
import { trashList, trashRestore } from '../cli/trash.js';
import { setConfig } from '../cli/config-commands.js';
import { setFolderPause, setFolderShare } from '../cli/folder-commands.js';
import type { ReloadAnswer } from '../status/control.js';
import { readMasterIgnore, writeMasterIgnore } from '../ignore/master-list.js';
import { type GuiActions, LIMIT_KEYS, type LimitKey } from './api.js';

/** What the actions need: the home, what '~' means, and the daemon's control handler. */
export interface ActionDeps {
  readonly home: string;
  readonly homeDir: string;
  readonly control: ControlSend;
}

/** The page's actions for the daemon of `home`. */
export function guiActions(deps: ActionDeps): GuiActions {
  const config = (): Config => readConfig(deps.home, { homeDir: deps.homeDir }).config;
  // A path the page sends is relative to its folder: the folder is the working dir, as `cd FOLDER && wizard ...`.
  // The daemon re-reads its config now, as 'wizard config set' and 'folder share' ask it to.
  const reloadReport = async () => ({ notified: true, stopping: ((await deps.control({ cmd: 'reload' })) as ReloadAnswer).stopping === true });
  const reload = () => reloadReport().then((r) => r.notified);
  const inFolder = (c: Config, folder: string) => ({ folder, cwd: foldersOf(c, folder)[0]?.path ?? '/' });
  return {
    status: () => deps.control({ cmd: 'status' }),
    resume: (folder) => deps.control({ cmd: 'resume', folder }),
    conflicts: async () => ({ conflicts: await conflictList(config(), deps.home) }),
    keep: (folder, path, keep) => {
      const c = config();
      return conflictKeep(c, deps.home, path, keep, inFolder(c, folder));
    },
    trash: async (pattern) => ({ entries: (await trashList(config(), { pattern })).entries }),
    restore: (folder, entry) => {
      const c = config();
      return trashRestore(c, `.wizard/trash/${entry}`, inFolder(c, folder));
    },
    invites: () => Promise.resolve({ invites: inviteList(deps.home, config()) }),
    invite: (folders, expires, lan) => {
      let ttlMs: number | undefined;
      try {
        ttlMs = expires === undefined ? undefined : parseDuration(expires);
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw new UsageError(err.message);
        throw err;
      }
      return makeInvite(deps.control, { folders, ttlMs, lan });
    },
    settings: () => {
      const c = config();
      return Promise.resolve({
        limits: c.limits,
        ignore: readMasterIgnore(deps.home),
        folders: c.folders.map((f) => ({ id: f.id, shareWith: f.shareWith })),
        peers: c.peers.map((p) => ({ id: p.id, name: p.name })),
      });
    },
    setLimits: (limits) => setConfig(deps.home, Object.entries(limits).map(([k, v]) => [LIMIT_KEYS[k as LimitKey], v] as const), reload),
    setIgnore: (text) => Promise.resolve(writeMasterIgnore(deps.home, text)),
    pause: (folder, paused) => setFolderPause(deps.home, config(), folder, paused, reloadReport),
    share: async (folder, peer, shared) => {
      const r = await setFolderShare(deps.home, config(), folder, peer, shared, reload);
      return { id: folder, peer: r.peer.id, shared, daemonNotified: r.daemonNotified };
    },
  };
}
