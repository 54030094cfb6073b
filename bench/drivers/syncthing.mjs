// Syncthing driver, ported from ../shared/bench/syncthing.sh: two instances on 127.0.0.1 with
// fresh homes per group, loopback addresses, and discovery, relays, NAT, STUN, usage
// reporting, crash reporting and upgrades off. fsWatcherDelayS is --syncthing-delay (default 1,
// the "tuned" anchor column). Initial syncs start paused on both sides; "start" is the REST
// unpause on A (B unpaused and idle first), so the time includes A's scan, the index exchange
// and B's pull. Bytes = delta of A's /rest/system/connections in + out totals.
// COMPRESS: one pair per compression mode (device `compression` never for "none", always for
// "auto": Syncthing has no adaptive mode and its default, metadata, leaves file data raw),
// limitBandwidthInLan on, and the slow link as options.maxSendKbps on both, set over REST.
import fs from 'node:fs';
import path from 'node:path';
import { generate } from '../lib/gen.mjs';
import { probeLatency } from '../lib/latprobe.mjs';
import { mixedExpectation, watchMixed } from '../lib/mixedwatch.mjs';
import { childPids, cpuMeter, freePort, place, run, runOk, sampleGroups, sleep, spawnTracked, statusKib, stopChild, waitFor } from '../lib/proc.mjs';
import { primeDigest, waitSync } from '../lib/waitsync.mjs';
import { compressPlan, compressRatio, freshDir, guardedGroup, record } from './common.mjs';

const BIN = 'syncthing';
const API_KEY = { A: 'wzb-bench-apikey-A-0123456789', B: 'wzb-bench-apikey-B-0123456789' };

function folderXml(f, delayS, ids) {
  const devices = f.devices.map((d) => `        <device id="${ids[d]}" introducedBy=""><encryptionPassword></encryptionPassword></device>`).join('\n');
  return `    <folder id="${f.id}" label="${f.id}" path="${f.path}" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="true" fsWatcherDelayS="${delayS}" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
${devices}
        <minDiskFree unit="%">1</minDiskFree>
        <versioning><cleanupIntervalS>3600</cleanupIntervalS><fsPath></fsPath><fsType>basic</fsType></versioning>
        <copiers>0</copiers>
        <pullerMaxPendingKiB>0</pullerMaxPendingKiB>
        <hashers>0</hashers>
        <order>random</order>
        <ignoreDelete>false</ignoreDelete>
        <scanProgressIntervalS>0</scanProgressIntervalS>
        <pullerPauseS>0</pullerPauseS>
        <maxConflicts>10</maxConflicts>
        <disableSparseFiles>false</disableSparseFiles>
        <disableTempIndexes>false</disableTempIndexes>
        <paused>${f.paused}</paused>
        <weakHashThresholdPct>25</weakHashThresholdPct>
        <markerName>.stfolder</markerName>
        <copyOwnershipFromParent>false</copyOwnershipFromParent>
        <modTimeWindowS>0</modTimeWindowS>
        <maxConcurrentWrites>2</maxConcurrentWrites>
        <disableFsync>false</disableFsync>
        <blockPullOrder>standard</blockPullOrder>
        <copyRangeMethod>standard</copyRangeMethod>
        <caseSensitiveFS>false</caseSensitiveFS>
        <junctionsAsDirs>false</junctionsAsDirs>
    </folder>`;
}

function deviceXml(name, id, address, compression) {
  return `    <device id="${id}" name="${name}" compression="${compression}" introducer="false" skipIntroductionRemovals="false" introducedBy="">
        <address>${address}</address>
        <paused>false</paused><autoAcceptFolders>false</autoAcceptFolders>
        <maxSendKbps>0</maxSendKbps><maxRecvKbps>0</maxRecvKbps><maxRequestKiB>0</maxRequestKiB>
        <untrusted>false</untrusted><remoteGUIPort>0</remoteGUIPort>
    </device>`;
}

function configXml({ folders, delayS, ids, listen, gui, apiKey, self, compression = 'metadata', limitInLan = false }) {
  const sides = Object.keys(ids);
  return `<configuration version="36">
${folders.map((f) => folderXml(f, delayS, ids)).join('\n')}
${sides.map((s) => deviceXml(s, ids[s], s === self || self === 'B' ? `tcp://127.0.0.1:${listen[s]}` : 'dynamic', compression)).join('\n')}
    <gui enabled="true" tls="false" debugging="false">
        <address>127.0.0.1:${gui}</address>
        <apikey>${apiKey}</apikey>
        <theme>default</theme>
    </gui>
    <ldap></ldap>
    <options>
        <listenAddress>tcp://127.0.0.1:${listen[self]}</listenAddress>
        <globalAnnounceServer>default</globalAnnounceServer>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <localAnnouncePort>21027</localAnnouncePort>
        <localAnnounceMCAddr>[ff12::8384]:21027</localAnnounceMCAddr>
        <maxSendKbps>0</maxSendKbps>
        <maxRecvKbps>0</maxRecvKbps>
        <reconnectionIntervalS>60</reconnectionIntervalS>
        <relaysEnabled>false</relaysEnabled>
        <relayReconnectIntervalM>10</relayReconnectIntervalM>
        <startBrowser>false</startBrowser>
        <natEnabled>false</natEnabled>
        <natLeaseMinutes>60</natLeaseMinutes>
        <natRenewalMinutes>30</natRenewalMinutes>
        <natTimeoutSeconds>10</natTimeoutSeconds>
        <urAccepted>-1</urAccepted>
        <urSeen>3</urSeen>
        <urUniqueID></urUniqueID>
        <urURL>https://data.syncthing.net/newdata</urURL>
        <urPostInsecurely>false</urPostInsecurely>
        <urInitialDelayS>1800</urInitialDelayS>
        <restartOnWakeup>true</restartOnWakeup>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <upgradeToPreReleases>false</upgradeToPreReleases>
        <keepTemporariesH>24</keepTemporariesH>
        <cacheIgnoredFiles>false</cacheIgnoredFiles>
        <progressUpdateIntervalS>5</progressUpdateIntervalS>
        <limitBandwidthInLan>${limitInLan}</limitBandwidthInLan>
        <minHomeDiskFree unit="%">1</minHomeDiskFree>
        <releasesURL>https://upgrades.syncthing.net/meta.json</releasesURL>
        <overwriteRemoteDeviceNamesOnConnect>false</overwriteRemoteDeviceNamesOnConnect>
        <tempIndexMinBlocks>10</tempIndexMinBlocks>
        <trafficClass>0</trafficClass>
        <setLowPriority>true</setLowPriority>
        <maxFolderConcurrency>0</maxFolderConcurrency>
        <crashReportingURL>https://crash.syncthing.net/newcrash</crashReportingURL>
        <crashReportingEnabled>false</crashReportingEnabled>
        <stunKeepaliveStartS>0</stunKeepaliveStartS>
        <stunKeepaliveMinS>0</stunKeepaliveMinS>
        <stunServer>default</stunServer>
        <databaseTuning>auto</databaseTuning>
        <maxConcurrentIncomingRequestKiB>0</maxConcurrentIncomingRequestKiB>
        <announceLANAddresses>false</announceLANAddresses>
        <sendFullIndexOnUpgrade>false</sendFullIndexOnUpgrade>
        <connectionLimitEnough>0</connectionLimitEnough>
        <connectionLimitMax>0</connectionLimitMax>
        <insecureAllowOldTLSVersions>false</insecureAllowOldTLSVersions>
    </options>
</configuration>
`;
}

/** Creates the Syncthing driver. */
export function createSyncthingDriver(ctx) {
  const { profile, tpl, log } = ctx;
  const delayS = ctx.syncthingDelayS;
  const scratch = path.join(ctx.scratch, 'syncthing');
  const ID = 'syncthing';
  const running = new Set();
  const env = { ...process.env, STNOUPGRADE: '1', STNODEFAULTFOLDER: '1' };

  async function rest(node, method, urlPath, body) {
    const res = await fetch(`http://127.0.0.1:${node.gui}${urlPath}`, {
      method,
      headers: { 'X-API-Key': node.apiKey, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(600_000),
    });
    if (!res.ok) throw new Error(`syncthing ${node.name} ${method} ${urlPath}: HTTP ${res.status}`);
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
  }
  const folderState = async (node, id) => rest(node, 'GET', `/rest/db/status?folder=${id}`);
  const waitIdle = (node, id) => waitFor(`syncthing ${node.name}/${id} to be idle`, async () => (await folderState(node, id)).state === 'idle', 120_000, 100);
  const unpause = (node, id) => rest(node, 'PATCH', `/rest/config/folders/${id}`, { paused: false });
  const wireTotal = async (node) => {
    const c = await rest(node, 'GET', '/rest/system/connections');
    return c.total.inBytesTotal + c.total.outBytesTotal;
  };

  async function deviceId(home) {
    const r = await runOk(BIN, ['generate', `--home=${home}`, '--no-default-folder', '--skip-port-probing'], { env });
    const m = /Device ID:\s*([A-Z0-9-]+)/.exec(`${r.stdout}\n${r.stderr}`);
    if (!m) throw new Error('syncthing generate printed no device ID');
    return m[1];
  }

  function startNode(node) {
    node.child = spawnTracked(BIN, ['serve', `--home=${node.home}`, '--no-browser', '--no-restart', '--no-upgrade', '--logflags=3'], {
      env,
      logFile: path.join(node.home, 'syncthing.log'),
    });
    running.add(node);
  }

  async function stopNode(node) {
    if (!node.child) return;
    const workers = childPids(node.child.pid);
    await stopChild(node.child);
    // The monitor normally takes its worker down; make sure, since we started both.
    for (const pid of workers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    node.child = undefined;
    running.delete(node);
  }

  /**
   * Starts the given sides with `folders` ({ id, paused, devices }) and waits until A and B are
   * connected and every unpaused folder is idle. Only B dials (A lists B as "dynamic", which
   * resolves to nothing with discovery off), so both can start at once: when both dial each other
   * from their listen ports (SO_REUSEPORT) at the same instant, the TCP simultaneous open stalls
   * the first Hello for 20 s.
   */
  async function startNodes(base, folders, sides = ['A', 'B'], { compression, limitInLan } = {}) {
    const nodes = {};
    const ids = {};
    const listen = {};
    for (const s of sides) {
      const home = path.join(base, `h${s}`);
      fs.mkdirSync(home, { recursive: true });
      nodes[s] = { name: s, home, gui: await freePort(), apiKey: API_KEY[s], folder: (id) => path.join(base, s, id) };
      listen[s] = await freePort();
      ids[s] = await deviceId(home);
    }
    for (const s of sides) {
      const node = nodes[s];
      const fl = folders.filter((f) => f.devices.includes(s)).map((f) => ({ ...f, path: node.folder(f.id) }));
      for (const f of fl) fs.mkdirSync(path.join(f.path, '.stfolder'), { recursive: true });
      const xml = configXml({ folders: fl, delayS, ids: Object.fromEntries(sides.map((x) => [x, ids[x]])), listen, gui: node.gui, apiKey: node.apiKey, self: s, compression, limitInLan });
      fs.writeFileSync(path.join(node.home, 'config.xml'), xml);
    }
    for (const s of sides) startNode(nodes[s]);
    await Promise.all(sides.map((s) => waitFor(`syncthing ${s} REST`, () => rest(nodes[s], 'GET', '/rest/system/ping'), 60_000, 100)));
    if (nodes.B) {
      await waitFor(
        'syncthing A and B to connect',
        async () => (await rest(nodes.A, 'GET', '/rest/system/connections')).connections[ids.B]?.connected === true,
        60_000,
        100,
      );
    }
    for (const f of folders.filter((x) => !x.paused)) for (const s of f.devices) await waitIdle(nodes[s], f.id);
    return nodes;
  }

  const shared = (id, paused) => ({ id, paused, devices: ['A', 'B'] });

  async function initialSync(nodes, id, template, workload, rep) {
    const { A, B } = nodes;
    await place(tpl.dir(template), A.folder(id));
    await unpause(B, id);
    await waitIdle(B, id);
    const w0 = await wireTotal(A);
    const cpu = cpuMeter([...pidsOf(A), ...pidsOf(B)]);
    const t0 = Date.now();
    await unpause(A, id);
    const r = await waitSync(B.folder(id), tpl.digest(template), t0, { timeoutMs: profile.syncTimeoutMs });
    const cpuUsed = cpu();
    if (!r.ok) return record(ID, workload, rep, 'timeout', {}, `B did not converge within ${Math.round(r.ms / 1000)} s`);
    await sleep(profile.afterSyncMs);
    return record(ID, workload, rep, 'ok', { ms: r.ms, cpu_ms: cpuUsed.ms, cpu_sys_ms: cpuUsed.sysMs, wire_bytes: (await wireTotal(A)) - w0 });
  }

  async function liveChange(nodes, id, expected, workload, rep, mutate, { afterWrite = false } = {}) {
    const { A, B } = nodes;
    await sleep(profile.settleMs);
    const w0 = await wireTotal(A);
    const cache = primeDigest(B.folder(id));
    const start = Date.now();
    const done = mutate();
    // A file rewritten by the generator (EDIT, SHIFT, EDIT-4G) is timed from the moment its write returned,
    // when the new version exists on A, as rsync is run only after it: SHIFT's 64 MiB temp file took
    // 0.3 s to write at load 7. BURST and COMPRESS time their writes, which are the workload.
    const t0 = afterWrite ? Date.now() : start;
    const r = await waitSync(B.folder(id), expected, t0, { timeoutMs: profile.syncTimeoutMs, cache });
    await done;
    if (!r.ok) return record(ID, workload, rep, 'timeout', {}, `B did not converge within ${Math.round(r.ms / 1000)} s`);
    await sleep(profile.afterSyncMs);
    return record(ID, workload, rep, 'ok', { ms: r.ms, wire_bytes: (await wireTotal(A)) - w0 });
  }

  /** The processes of one Syncthing node: the monitor and its worker child(ren). */
  const pidsOf = (node) => [node.child.pid, ...childPids(node.child.pid)];

  async function runScale(base, rep) {
    const nodes = await startNodes(base, [{ id: 'scale', paused: true, devices: ['A'] }], ['A']);
    const A = nodes.A;
    await place(tpl.dir('scale'), A.folder('scale'));
    const want = tpl.info('scale').files;
    const t0 = Date.now();
    await unpause(A, 'scale');
    const done = async () => {
      const s = await folderState(A, 'scale');
      return s.state === 'idle' && s.localFiles === want;
    };
    try {
      await waitFor('syncthing to index SCALE', done, profile.syncTimeoutMs, 50);
    } catch {
      return record(ID, 'SCALE', rep, 'timeout', {}, `not indexed within ${profile.syncTimeoutMs / 1000} s`);
    }
    const indexMs = Date.now() - t0;
    await sleep(profile.settleMs);
    // POST /rest/db/scan returns when the scan has finished.
    const t1 = Date.now();
    await rest(A, 'POST', '/rest/db/scan?folder=scale');
    const rescanMs = Date.now() - t1;
    const pids = pidsOf(A);
    return record(ID, 'SCALE', rep, 'ok', {
      index_ms: indexMs,
      rescan_ms: rescanMs,
      rss_mib: pids.reduce((s, p) => s + statusKib(p, 'VmRSS'), 0) / 1024,
      peak_rss_mib: pids.reduce((s, p) => s + statusKib(p, 'VmHWM'), 0) / 1024,
      files: want,
    });
  }

  /** COMPRESS: a fresh pair per compression mode; per data kind the upload limit is set over REST, then the file is copied into A's folder. */
  async function runCompress(base, rep, out) {
    const plan = compressPlan(rep);
    const recs = [];
    for (const mode of plan[0].cases.map((c) => c.mode)) {
      const cases = plan.map((k) => ({ ...k, c: k.cases.find((c) => c.mode === mode) }));
      const nodes = await startNodes(path.join(base, mode), cases.map((k) => shared(k.c.folder, false)), ['A', 'B'], { compression: mode === 'auto' ? 'always' : 'never', limitInLan: true });
      for (const k of cases) {
        const kbps = k.slow ? Math.round(profile.compress.slowLinkBytesPerS / 1024) : 0;
        for (const n of [nodes.A, nodes.B]) {
          await rest(n, 'PATCH', '/rest/config/options', { maxSendKbps: kbps });
          const o = await rest(n, 'GET', '/rest/config/options');
          if (o.maxSendKbps !== kbps || o.limitBandwidthInLan !== true) throw new Error(`syncthing ${n.name} did not take maxSendKbps=${kbps}`);
        }
        const src = tpl.dir(k.c.template);
        const dst = nodes.A.folder(k.c.folder);
        recs.push(await liveChange(nodes, k.c.folder, tpl.digest(k.c.template), k.c.workload, rep, () => runOk('cp', ['-a', `${src}/.`, `${dst}/`], { timeoutMs: profile.syncTimeoutMs })));
      }
      await Promise.all([nodes.A, nodes.B].map((n) => stopNode(n)));
    }
    for (const k of plan) {
      out.push(...k.cases.map((c) => recs.find((r) => r.workload === c.workload)), compressRatio(ID, k.kind, rep, recs));
    }
  }

  async function runGroup(group, rep) {
    const base = freshDir(scratch, `${group.name.toLowerCase()}-${rep}`);
    const stop = () => Promise.all([...running].map((n) => stopNode(n)));
    const guard = { system: ID, group, rep, base, logDir: ctx.logDir, keepRunDirs: ctx.keepRunDirs, log, stop };
    return guardedGroup(guard, async (out) => {
      switch (group.name) {
        case 'LAT': {
          const nodes = await startNodes(base, [shared('lat', false)]);
          for (const mode of ['rename', 'overwrite']) {
            const r = await probeLatency({ a: nodes.A.folder('lat'), b: nodes.B.folder('lat'), mode, reps: ctx.latReps, gapMs: profile.latGapMs, timeoutMs: 30_000, log: ctx.verbose });
            const { p50_ms, p95_ms, max_ms, min_ms } = r;
            out.push(record(ID, `LAT-${mode}`, rep, r.ok ? 'ok' : 'timeout', { p50_ms, p95_ms, max_ms, min_ms }, r.ok ? undefined : `${r.timeouts} probe(s) not on B within 30 s`));
          }
          break;
        }
        case 'SMALL': {
          const nodes = await startNodes(base, [shared('small', true)]);
          const r = await initialSync(nodes, 'small', 'small', 'SMALL', rep);
          out.push(r);
          if (rep === 1 && ctx.workloads.includes('IDLE') && r.status === 'ok') {
            await sleep(profile.idleSettleMs);
            const s = await sampleGroups({ A: pidsOf(nodes.A), B: pidsOf(nodes.B) }, profile.idleWindowMs);
            out.push(
              record(ID, 'IDLE', rep, 'ok', {
                cpu_pct: (s.A.cpu_pct + s.B.cpu_pct) / 2,
                rss_mib: (s.A.rss_mib + s.B.rss_mib) / 2,
                A_cpu_pct: s.A.cpu_pct,
                B_cpu_pct: s.B.cpu_pct,
                A_rss_mib: s.A.rss_mib,
                B_rss_mib: s.B.rss_mib,
                A_private_mib: s.A.private_mib,
                B_private_mib: s.B.private_mib,
                A_pss_mib: s.A.pss_mib,
                B_pss_mib: s.B.pss_mib,
              }),
            );
          }
          break;
        }
        case 'BIG': {
          const nodes = await startNodes(base, [shared('big', true)]);
          const r = await initialSync(nodes, 'big', 'big', 'BIG', rep);
          out.push(r);
          if (ctx.workloads.includes('EDIT')) {
            if (r.status !== 'ok') out.push(record(ID, 'EDIT', rep, 'failed', {}, 'BIG did not sync'));
            else {
              const file = path.join(nodes.A.folder('big'), 'big.bin');
              out.push(await liveChange(nodes, 'big', tpl.digest('big-edit'), 'EDIT', rep, async () => generate('edit', file, { seed: ctx.seed, profile }), { afterWrite: true }));
            }
          }
          break;
        }
        case 'SHIFT': {
          const nodes = await startNodes(base, [shared('shift', true)]);
          const r = await initialSync(nodes, 'shift', 'shift', 'SHIFT-initial', rep);
          out.push(r);
          if (r.status !== 'ok') out.push(record(ID, 'SHIFT', rep, 'failed', {}, 'the initial sync failed'));
          else {
            const file = path.join(nodes.A.folder('shift'), 'shift.bin');
            out.push(await liveChange(nodes, 'shift', tpl.digest('shift-ins'), 'SHIFT', rep, async () => generate('shiftins', file, { seed: ctx.seed, profile }), { afterWrite: true }));
          }
          break;
        }
        case 'BIG4G': {
          const nodes = await startNodes(base, [shared('big4g', true)]);
          const r = await initialSync(nodes, 'big4g', 'big4g', 'EDIT-4G-initial', rep);
          out.push(r);
          if (r.status !== 'ok') out.push(record(ID, 'EDIT-4G', rep, 'failed', {}, 'the initial sync failed'));
          else {
            const file = path.join(nodes.A.folder('big4g'), 'big4g.bin');
            out.push(await liveChange(nodes, 'big4g', tpl.digest('big4g-edit'), 'EDIT-4G', rep, async () => generate('edit', file, { seed: ctx.seed, profile }), { afterWrite: true }));
          }
          break;
        }
        case 'BURST': {
          const nodes = await startNodes(base, [shared('burst', false)]);
          out.push(await liveChange(nodes, 'burst', tpl.digest('burst'), 'BURST', rep, () => ctx.spawnBurst(nodes.A.folder('burst'))));
          break;
        }
        case 'MIXED': {
          const nodes = await startNodes(base, [shared('mixed', false)]);
          const a = nodes.A.folder('mixed');
          const b = nodes.B.folder('mixed');
          fs.mkdirSync(path.join(a, 'small'), { recursive: true });
          await waitFor('syncthing B to create mixed/small', () => fs.existsSync(path.join(b, 'small')), 60_000);
          await waitIdle(nodes.A, 'mixed');
          await waitIdle(nodes.B, 'mixed');
          await sleep(profile.settleMs);
          const smallTpl = tpl.dir('mixedsmall');
          const bigTpl = path.join(tpl.dir('mixedbig'), 'mixed-big.bin');
          const smallFiles = fs.readdirSync(smallTpl).map((n) => path.join(smallTpl, n));
          const expect = mixedExpectation({ smallTpl, bigTpl });
          const t0 = Date.now();
          const copies = [runOk('cp', [bigTpl, `${a}/`], { timeoutMs: 600_000 }), runOk('cp', ['-t', path.join(a, 'small'), ...smallFiles])];
          const r = await watchMixed({ b, expect, t0, timeoutMs: profile.syncTimeoutMs });
          await Promise.all(copies);
          const { small_first_ms, small_p50_ms, small_max_ms, big_ms } = r;
          out.push(record(ID, 'MIXED', rep, r.ok ? 'ok' : 'timeout', { small_first_ms, small_p50_ms, small_max_ms, big_ms }, r.ok ? undefined : 'not everything reached B'));
          break;
        }
        case 'SCALE':
          out.push(await runScale(base, rep));
          break;
        case 'COMPRESS':
          await runCompress(base, rep, out);
          break;
        default:
          throw new Error(`unknown group ${group.name}`);
      }
    });
  }

  return {
    id: ID,
    label: 'Syncthing',
    config: `fsWatcherDelayS=${delayS}; discovery, relays, NAT, STUN, usage and crash reporting off; B dials A at 127.0.0.1; other settings 1.19 defaults; COMPRESS: compression never (none) / always (auto), limitBandwidthInLan on, the slow link as maxSendKbps on both`,
    supports: () => true,
    async prepare() {
      const r = await run(BIN, ['--version']);
      if (r.code !== 0) throw new Error('syncthing --version failed');
      const line = r.stdout.trim().split('\n')[0];
      const m = /^syncthing (\S+).*?\((go[\d.]+)/.exec(line);
      return m ? `syncthing ${m[1]} (${m[2]})` : line;
    },
    runGroup,
    async cleanup() {
      await Promise.all([...running].map((n) => stopNode(n)));
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
