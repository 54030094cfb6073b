// Wizard's web page: the daemon's status, live over server-sent events, and
// the actions of the CLI (resume, conflicts, trash, invites, settings).
// Every string from the daemon is rendered as text (preact escapes it), and
// control and bidi characters are shown as \u{...}, as the CLI prints them.
import { html, render, useCallback, useEffect, useState } from '/vendor/preact-htm.js';

// ---------- the API ----------

let csrf = '';

/** Set when the session is gone (the daemon restarted): the page says how to log in again. */
let onLoggedOut = () => {};

async function call(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json', 'x-wizard-csrf': csrf }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  if (res.status === 401) {
    onLoggedOut();
    throw new Error('logged out');
  }
  const value = await res.json().catch(() => ({ error: `the daemon answered ${res.status}` }));
  if (!res.ok) throw new Error(value.error ?? `the daemon answered ${res.status}`);
  return value;
}

// ---------- formatting ----------

// C0/C1 controls, and the marks and overrides that reorder text (U+202E makes "exe.txt" read "txt.exe").
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;

/** A name from the daemon, with invisible and reordering characters made visible. */
const shown = (s) => String(s ?? '').replace(HIDDEN, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);

function bytes(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const time = (ms) => new Date(ms).toLocaleString();
const short = (id) => String(id ?? '').slice(0, 8);

function duration(s) {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

// ---------- small parts ----------

/** A button that runs an async action, disabled while it runs; errors go to `onError`. */
function Action({ label, run, onError, title }) {
  const [busy, setBusy] = useState(false);
  const click = async () => {
    setBusy(true);
    try {
      await run();
    } catch (err) {
      onError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" disabled=${busy} title=${title} onClick=${click}>${label}</button>`;
}

function Folders({ status, onError }) {
  if (status.folders.length === 0) return html`<p class="empty">No folders. Add one with 'wizard folder add ID PATH'.</p>`;
  return html`<table>
    <thead><tr><th>Folder</th><th>State</th><th class="num">Files</th><th class="num">Size</th><th>In sync</th><th class="num">Pending</th><th></th></tr></thead>
    <tbody>${status.folders.map(
      (f) => html`<tr data-folder=${f.id}>
        <td><strong>${shown(f.id)}</strong><div class="path muted">${shown(f.path)}</div>${f.mode !== 'send-receive' ? html`<div class="muted">${f.mode}</div>` : null}</td>
        <td class=${f.state === 'halted' ? 'bad' : ''}>${f.state}${f.haltReason ? html`<div>${shown(f.haltReason)}</div>` : null}
          ${f.heldDeletions > 0 ? html`<div class="warn">${f.heldDeletions} deletions held${f.held ? `: ${shown(f.held.reason)}` : ''}</div>` : null}
          ${f.watchProblem ? html`<div class="warn">${shown(f.watchProblem)}</div>` : null}</td>
        <td class="num">${f.files}</td>
        <td class="num">${bytes(f.bytes)}</td>
        <td class=${f.inSync ? 'ok' : 'warn'}>${f.inSync ? 'yes' : 'no'}</td>
        <td class="num">${f.pending}</td>
        <td class="actions">${f.heldDeletions > 0
          ? html`<${Action} label="Resume" title="apply the held deletions (wizard resume)" run=${() => call('/api/resume', { folder: f.id })} onError=${onError} />`
          : null}${f.state === 'paused'
          ? html`<${Action} label="Unpause" title="sync it again: what changed meanwhile is scanned and synced (wizard folder unpause)" run=${() => call('/api/pause', { folder: f.id, paused: false })} onError=${onError} />`
          : html`<${Action} label="Pause" title="stop syncing it until unpaused: not watched, scanned, pulled or offered to peers (wizard folder pause)" run=${() => call('/api/pause', { folder: f.id, paused: true })} onError=${onError} />`}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function Peers({ status }) {
  if (status.peers.length === 0) return html`<p class="empty">No peers. Pair one with 'wizard pair HOST', or make an invite below.</p>`;
  return html`<table>
    <thead><tr><th>Peer</th><th>Link</th><th>Address</th><th class="num">Up</th><th class="num">Down</th><th>Codec</th></tr></thead>
    <tbody>${status.peers.map(
      (p) => html`<tr data-peer=${p.id}>
        <td><strong>${shown(p.name) || short(p.id)}</strong><div class="id">${p.id}</div></td>
        <td class=${p.connected ? 'ok' : 'muted'}>${p.connected ? 'connected' : 'not connected'}${p.latencyMs !== undefined ? html`<div class="muted">${p.latencyMs} ms</div>` : null}</td>
        <td class="addr">${shown(p.address) || html`<span class="muted">they dial us</span>`}</td>
        <td class="num">${p.sendBytesPerSecond !== undefined ? `${bytes(p.sendBytesPerSecond)}/s` : ''}<div class="muted">${bytes(p.bytesSent)}</div></td>
        <td class="num">${p.receiveBytesPerSecond !== undefined ? `${bytes(p.receiveBytesPerSecond)}/s` : ''}<div class="muted">${bytes(p.bytesReceived)}</div></td>
        <td>${p.compression ? html`${p.compression.codec}<div class="muted">${shown(p.compression.reason)}</div>` : ''}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function Transfers({ status }) {
  const name = (id) => shown(status.peers.find((p) => p.id === id)?.name) || short(id);
  if (status.transfers.length === 0) return html`<p class="empty">No downloads in progress.</p>`;
  return html`<table>
    <thead><tr><th>File</th><th>From</th><th>Progress</th><th class="num">Rate</th><th class="num">Left</th></tr></thead>
    <tbody>${status.transfers.map(
      (t) => html`<tr>
        <td class="path">${shown(t.folder)}/${shown(t.path)}</td>
        <td>${t.peers.map(name).join(', ')}</td>
        <td><progress max=${t.bytesTotal || 1} value=${t.bytesTotal > 0 ? t.bytesDone : 1}></progress> ${bytes(t.bytesDone)} of ${bytes(t.bytesTotal)}</td>
        <td class="num">${bytes(t.bytesPerSecond)}/s</td>
        <td class="num">${t.etaSeconds !== undefined ? duration(t.etaSeconds) : ''}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function Errors({ status }) {
  const lines = [...(status.configProblem ? [`Config error (the last good config stays in force): ${status.configProblem.message}`] : []), ...status.errors];
  if (lines.length === 0) return html`<p class="empty">No recent errors.</p>`;
  return html`<ul class="errors">${lines.map((e) => html`<li class="bad">${shown(e)}</li>`)}</ul>`;
}

function Conflicts({ list, reload, onError }) {
  if (list === undefined) return html`<p class="empty">Loading…</p>`;
  if (list.length === 0) return html`<p class="empty">No conflicts.</p>`;
  const keep = (c, how) => async () => {
    await call('/api/conflicts/keep', { folder: c.folder, path: c.copy.path, keep: how });
    reload();
  };
  return html`<table>
    <thead><tr><th>File</th><th>The file (the edit that won)</th><th>The conflict copy</th><th></th></tr></thead>
    <tbody>${list.map(
      (c) => html`<tr data-conflict=${c.copy.path}>
        <td class="path">${shown(c.folder)}/${shown(c.original)}<div class="muted">conflict at ${time(c.atMs)}</div></td>
        <td>${c.file.exists ? html`${bytes(c.file.size)}, modified ${time(c.file.mtimeMs)}` : 'deleted'}</td>
        <td>${c.copyIsOurs ? "this node's edit" : `${shown(c.copyBy)}'s edit`}, ${bytes(c.copy.size)}, modified ${time(c.copy.mtimeMs)}<div class="path muted">${shown(c.copy.path)}</div></td>
        <td class="actions">
          <${Action} label="Keep mine" title="keep this node's edit; the other goes to the trash" run=${keep(c, 'mine')} onError=${onError} />
          <${Action} label="Keep theirs" title="keep the other node's edit; this node's goes to the trash" run=${keep(c, 'theirs')} onError=${onError} />
          <${Action} label="Keep both" title="keep both: the copy gets a plain name" run=${keep(c, 'both')} onError=${onError} />
        </td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function Trash({ onError, version }) {
  const [query, setQuery] = useState('');
  const [entries, setEntries] = useState(undefined);
  const [done, setDone] = useState('');
  const load = useCallback(() => {
    call(`/api/trash${query === '' ? '' : `?q=${encodeURIComponent(query)}`}`).then((r) => setEntries(r.entries), (err) => onError(err.message));
  }, [query]);
  useEffect(load, [load, version]);
  const restore = (e) => async () => {
    const r = await call('/api/trash/restore', { folder: e.folder, entry: e.entry });
    setDone(`Restored ${shown(r.folder)}/${shown(r.path)}${r.replacedInto ? `; the file that was there is in the trash as ${shown(r.replacedInto)}` : ''}`);
    load();
  };
  return html`<div>
    <div class="row"><input type="search" placeholder="pattern, as *.txt or docs/**" aria-label="search the trash" value=${query} onInput=${(e) => setQuery(e.target.value)} /></div>
    ${done ? html`<p class="ok">${done}</p>` : null}
    ${entries === undefined
      ? html`<p class="empty">Loading…</p>`
      : entries.length === 0
        ? html`<p class="empty">${query === '' ? 'The trash is empty.' : 'Nothing in the trash matches.'}</p>`
        : html`<table>
          <thead><tr><th>File</th><th>Trashed</th><th>Why</th><th class="num">Size</th><th></th></tr></thead>
          <tbody>${entries.map(
            (e) => html`<tr data-trash=${e.entry}>
              <td class="path">${shown(e.folder)}/${shown(e.path)}</td>
              <td>${time(e.trashedAtMs)}</td>
              <td>${e.cause}</td>
              <td class="num">${bytes(e.size)}</td>
              <td class="actions"><${Action} label="Restore" title="put it back; peers get it as a new edit" run=${restore(e)} onError=${onError} /></td>
            </tr>`,
          )}</tbody>
        </table>`}
  </div>`;
}

function Invites({ status, onError }) {
  const [folders, setFolders] = useState([]);
  const [expires, setExpires] = useState('24h');
  const [lan, setLan] = useState(false);
  const [made, setMade] = useState(undefined);
  const [list, setList] = useState([]);
  const load = () => call('/api/invites').then((r) => setList(r.invites), (err) => onError(err.message));
  useEffect(() => void load(), [status.peers.length]);
  const toggle = (id) => setFolders(folders.includes(id) ? folders.filter((f) => f !== id) : [...folders, id]);
  const make = async () => {
    setMade(await call('/api/invite', { folders, expires, lan }));
    load();
  };
  const peerName = (id) => shown(status.peers.find((p) => p.id === id)?.name) || short(id);
  return html`<div>
    <div class="row">Share:
      ${status.folders.map((f) => html`<label><input type="checkbox" checked=${folders.includes(f.id)} onChange=${() => toggle(f.id)} /> ${shown(f.id)}</label>`)}
      <label>valid for <select value=${expires} onChange=${(e) => setExpires(e.target.value)}>${['30m', '1h', '24h', '7d'].map((d) => html`<option value=${d}>${d}</option>`)}</select></label>
      <label title="wizard invite --lan: for a machine whose address changes"><input type="checkbox" checked=${lan} onChange=${() => setLan(!lan)} /> no address: found on the LAN</label>
      <${Action} label="Make an invite code" run=${make} onError=${onError} />
    </div>
    ${made ? html`<p>On the new machine: <span class="code" data-invite-code>wizard join ${made.code}</span><br /><span class="muted">It works once, until ${time(made.expiresAtMs)}.</span></p>` : null}
    ${list.length === 0
      ? html`<p class="empty">No invites yet.</p>`
      : html`<table>
        <thead><tr><th>Made</th><th>Invite</th><th>State</th><th>Shares</th><th>Until</th></tr></thead>
        <tbody>${list.map(
          (i) => html`<tr>
            <td>${time(i.createdAtMs)}</td><td class="id">${short(i.id)}</td>
            <td>${i.state === 'used' ? html`<span class="ok">joined: ${i.joinedName ? shown(i.joinedName) : peerName(i.joined)}</span>` : i.state === 'open' && i.expiresAtMs <= Date.now() ? 'expired' : i.state}</td>
            <td>${i.folders.map(shown).join(', ') || html`<span class="muted">no folder</span>`}</td><td>${time(i.expiresAtMs)}</td>
          </tr>`,
        )}</tbody>
      </table>`}
  </div>`;
}

/** Limits, the ignore list and sharing: each saved through the CLI's own edit, which validates it first. */
function Settings({ onError, version }) {
  const [settings, setSettings] = useState(undefined);
  const [limits, setLimits] = useState({});
  const [ignore, setIgnore] = useState('');
  const [saved, setSaved] = useState('');
  const [problem, setProblem] = useState('');
  // A form's fields are filled from the file when the page opens and after that form is saved, never under
  // the user's typing in another one.
  const load = (fill) =>
    call('/api/settings').then((s) => {
      setSettings(s);
      if (fill.limits) setLimits({ transfers: s.limits.transfers, hashers: s.limits.hashers, bandwidthUp: s.limits.bandwidthUp, bandwidthDown: s.limits.bandwidthDown });
      if (fill.ignore) setIgnore(s.ignore);
    }, (err) => onError(err.message));
  useEffect(() => void load({ limits: true, ignore: true }), []);
  useEffect(() => void load({}), [version]);
  // A refusal is shown beside the form it concerns, in the config's own words.
  const save = (what, fill, run) => async () => {
    setSaved('');
    setProblem('');
    try {
      await run();
      await load(fill);
      setSaved(what);
    } catch (err) {
      setProblem(err.message);
    }
  };
  if (settings === undefined) return html`<p class="empty">Loading…</p>`;
  const number = (key, label) =>
    html`<label>${label} <input type="number" min="0" aria-label=${label} value=${limits[key]} onInput=${(e) => setLimits({ ...limits, [key]: e.target.value === '' ? NaN : Number(e.target.value) })} /></label>`;
  const shared = (f, p) => f.shareWith.includes(p.id);
  return html`<div>
    ${problem ? html`<div class="banner bad" role="alert" data-settings-problem>${shown(problem)}</div>` : null}
    ${saved ? html`<p class="ok">${saved}</p>` : null}
    <h3>Limits</h3>
    <div class="row">
      ${number('transfers', 'Transfers')} ${number('hashers', 'Hashers')}
      ${number('bandwidthUp', 'Up (bytes/s, 0: unlimited)')} ${number('bandwidthDown', 'Down (bytes/s, 0: unlimited)')}
      <${Action} label="Save limits" run=${save('Limits saved; the daemon applied them.', { limits: true }, () => call('/api/limits', limits))} onError=${onError} />
    </div>
    <h3>Ignore list</h3>
    <p class="muted">Gitignore patterns for every folder (HOME/ignore); a folder adds its own in .wizardignore.</p>
    <textarea rows="6" aria-label="ignore list" value=${ignore} onInput=${(e) => setIgnore(e.target.value)}></textarea>
    <div class="row"><${Action} label="Save ignore list" run=${save('Ignore list saved; it applies within a second.', { ignore: true }, () => call('/api/ignore', { text: ignore }))} onError=${onError} /></div>
    <h3>Sharing</h3>
    ${settings.peers.length === 0
      ? html`<p class="empty">No peers to share with.</p>`
      : html`<table>
        <thead><tr><th>Folder</th>${settings.peers.map((p) => html`<th>${shown(p.name) || short(p.id)}</th>`)}</tr></thead>
        <tbody>${settings.folders.map(
          (f) => html`<tr data-share=${f.id}><td><strong>${shown(f.id)}</strong></td>${settings.peers.map(
            (p) => html`<td><input type="checkbox" aria-label=${`share ${shown(f.id)} with ${shown(p.name) || short(p.id)}`} checked=${shared(f, p)}
              onChange=${save(`Folder ${shown(f.id)} is ${shared(f, p) ? 'no longer shared with' : 'now shared with'} ${shown(p.name) || short(p.id)}.`, {}, () => call('/api/share', { folder: f.id, peer: p.id, shared: !shared(f, p) }))} /></td>`,
          )}</tr>`,
        )}</tbody>
      </table>`}
  </div>`;
}

// ---------- the page ----------

function App() {
  const [status, setStatus] = useState(undefined);
  const [live, setLive] = useState('connecting');
  const [error, setError] = useState('');
  const [loggedOut, setLoggedOut] = useState(false);
  const [conflicts, setConflicts] = useState(undefined);
  const [version, setVersion] = useState(0);
  onLoggedOut = () => setLoggedOut(true);

  useEffect(() => {
    let stream;
    call('/api/session').then((s) => {
      csrf = s.csrf ?? '';
      stream = new EventSource('/events');
      stream.addEventListener('status', (e) => {
        setStatus(JSON.parse(e.data));
        setLive('live');
      });
      stream.onerror = () => {
        // A closed stream is not retried by the browser: the session is gone.
        if (stream.readyState === EventSource.CLOSED) setLoggedOut(true);
        else setLive('reconnecting');
      };
    }, () => setLoggedOut(true));
    return () => stream?.close();
  }, []);

  // Conflicts are read from the folders on disk: again when the daemon's count of them changes, or after an action.
  const conflictKey = status === undefined ? '' : status.folders.map((f) => `${f.id}:${f.conflicts ?? 0}:${f.files}`).join(',');
  const reload = () => setVersion((v) => v + 1);
  useEffect(() => {
    if (status === undefined) return;
    call('/api/conflicts').then((r) => setConflicts(r.conflicts), (err) => setError(err.message));
  }, [conflictKey, version]);

  if (loggedOut) return html`<div class="banner bad">This page is logged out (the daemon restarted, or it was opened without the login link). Run <code>wizard gui</code> and open the URL it prints.</div>`;
  if (status === undefined) return html`<p>Connecting to the daemon…</p>`;
  const onError = (message) => setError(message);
  return html`
    <header>
      <h1>${shown(status.name)}</h1>
      <span class="id">node ${status.id}</span>
      <span class="muted">listening on ${shown(status.listen)}</span>
      <span class=${`live ${live === 'live' ? 'ok' : 'warn'}`}>${live}</span>
    </header>
    ${error ? html`<div class="banner bad" role="alert">${shown(error)} <button type="button" onClick=${() => setError('')}>Dismiss</button></div>` : null}
    <section><h2>Folders</h2><${Folders} status=${status} onError=${onError} /></section>
    <section><h2>Peers</h2><${Peers} status=${status} /></section>
    <section><h2>Transfers</h2><${Transfers} status=${status} /></section>
    <section><h2>Recent errors</h2><${Errors} status=${status} /></section>
    <section><h2>Conflicts</h2><${Conflicts} list=${conflicts} reload=${reload} onError=${onError} /></section>
    <section><h2>Trash</h2><${Trash} onError=${onError} version=${`${version}:${conflictKey}`} /></section>
    <section><h2>Invites</h2><${Invites} status=${status} onError=${onError} /></section>
    <section><h2>Settings</h2><${Settings} onError=${onError} version=${status.peers.length} /></section>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
