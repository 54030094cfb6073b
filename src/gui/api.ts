/**
 * The page's JSON API: which route calls which action, and the checks on
 * each request's body. The actions are the same functions the CLI runs
 * (gui/actions.ts binds them), so the page can do nothing the commands
 * cannot, and says the same one-line errors.
 */
import { UsageError } from '../core/errors.js';

/** What the page can ask for; each is the CLI's own code (see actions.ts). */
export interface GuiActions {
  status(): Promise<unknown>;
  resume(folder: string): Promise<unknown>;
  conflicts(): Promise<unknown>;
  keep(folder: string, path: string, keep: 'mine' | 'theirs' | 'both'): Promise<unknown>;
  trash(pattern: string | undefined): Promise<unknown>;
  restore(folder: string, entry: string): Promise<unknown>;
  invites(): Promise<unknown>;
  /** `wizard invite [--folder ID]... [--expires D] [--lan]`. */
  invite(folders: string[], expires: string | undefined, lan: boolean): Promise<unknown>;
  /** Limits, the master ignore list and each folder's share list, as the config file has them now. */
  settings(): Promise<unknown>;
  /** `wizard config set limits.KEY VALUE`, for each given key, in one validated edit. */
  setLimits(limits: Partial<Record<LimitKey, number>>): Promise<unknown>;
  setIgnore(text: string): Promise<unknown>;
  /** `wizard folder share|unshare FOLDER PEER`. */
  share(folder: string, peer: string, shared: boolean): Promise<unknown>;
  /** `wizard folder pause|unpause FOLDER`. */
  pause(folder: string, paused: boolean): Promise<unknown>;
}

/** The limits the page edits, and their keys in the config file. */
export const LIMIT_KEYS = { transfers: 'limits.transfers', hashers: 'limits.hashers', bandwidthUp: 'limits.bandwidth.up', bandwidthDown: 'limits.bandwidth.down' } as const;

/** A limit the page edits. */
export type LimitKey = keyof typeof LIMIT_KEYS;

/** A route's answer: run it, or the route does not exist. */
export type Route = { readonly kind: 'get'; run: (query: URLSearchParams) => Promise<unknown> } | { readonly kind: 'post'; run: (body: unknown) => Promise<unknown> };

const str = (body: Record<string, unknown>, key: string, max = 4096): string => {
  const v = body[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new UsageError(`'${key}' must be a non-empty string`);
  return v;
};

const bool = (body: Record<string, unknown>, key: string): boolean => {
  const v = body[key];
  if (typeof v !== 'boolean') throw new UsageError(`'${key}' must be true or false`);
  return v;
};

const obj = (body: unknown): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError('the body must be a JSON object');
  return body as Record<string, unknown>;
};

/** The route for `method path`, or undefined. */
export function routeOf(actions: GuiActions, method: string, path: string): Route | undefined {
  if (method === 'GET') {
    switch (path) {
      case '/api/status':
        return { kind: 'get', run: () => actions.status() };
      case '/api/conflicts':
        return { kind: 'get', run: () => actions.conflicts() };
      case '/api/trash':
        return { kind: 'get', run: (q) => actions.trash(q.get('q') || undefined) };
      case '/api/invites':
        return { kind: 'get', run: () => actions.invites() };
      case '/api/settings':
        return { kind: 'get', run: () => actions.settings() };
      default:
        return undefined;
    }
  }
  if (method !== 'POST') return undefined;
  switch (path) {
    case '/api/resume':
      return { kind: 'post', run: (b) => actions.resume(str(obj(b), 'folder')) };
    case '/api/conflicts/keep':
      return {
        kind: 'post',
        run: (b) => {
          const body = obj(b);
          const keep = body.keep;
          if (keep !== 'mine' && keep !== 'theirs' && keep !== 'both') throw new UsageError("'keep' must be mine, theirs or both");
          return actions.keep(str(body, 'folder'), str(body, 'path'), keep);
        },
      };
    case '/api/trash/restore':
      return { kind: 'post', run: (b) => actions.restore(str(obj(b), 'folder'), str(obj(b), 'entry')) };
    case '/api/invite':
      return {
        kind: 'post',
        run: (b) => {
          const body = obj(b);
          const folders = body.folders ?? [];
          if (!Array.isArray(folders) || !folders.every((f) => typeof f === 'string')) throw new UsageError("'folders' must be a list of folder IDs");
          const expires = body.expires === undefined || body.expires === '' ? undefined : str(body, 'expires', 32);
          if (body.lan !== undefined && typeof body.lan !== 'boolean') throw new UsageError("'lan' must be true or false");
          return actions.invite(folders, expires, body.lan === true);
        },
      };
    case '/api/limits':
      return {
        kind: 'post',
        run: (b) => {
          const limits: Partial<Record<LimitKey, number>> = {};
          for (const [k, v] of Object.entries(obj(b))) {
            if (!(k in LIMIT_KEYS)) throw new UsageError(`'${k}' is not a limit the page sets`);
            if (typeof v !== 'number') throw new UsageError(`limit '${k}' must be a number`);
            limits[k as LimitKey] = v;
          }
          return actions.setLimits(limits);
        },
      };
    case '/api/ignore':
      return {
        kind: 'post',
        run: (b) => {
          const text = obj(b).text;
          if (typeof text !== 'string') throw new UsageError("'text' must be the ignore list");
          return actions.setIgnore(text);
        },
      };
    case '/api/share':
      return {
        kind: 'post',
        run: (b) => {
          const body = obj(b);
          return actions.share(str(body, 'folder'), str(body, 'peer'), bool(body, 'shared'));
        },
      };
    case '/api/pause':
      return {
        kind: 'post',
        run: (b) => {
          const body = obj(b);
          return actions.pause(str(body, 'folder'), bool(body, 'paused'));
        },
      };
    default:
      return undefined;
  }
}
