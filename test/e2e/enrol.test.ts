/**
 * Issue 16 items 3, 4 and 6 with three real daemons: a machine joins by a
 * one-time code (and every way a code can be wrong fails in one line, exit
 * 2), the inviter introduces the second joiner to the first, and a
 * revocation signed on the CA's node reaches the third node, which refuses
 * the revoked one within seconds and after a restart. Hostile enrolments and
 * revocation lists are spoken from the wire peer.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caFingerprintOf, createCa, isSignedBy, newNodeKey } from '../../src/certs/ca.js';
import { enrolProof } from '../../src/trust/enrol-proof.js';
import { ENROL_EXPORTER_BYTES, ENROL_EXPORTER_LABEL } from '../../src/trust/enrol-wire.js';
import { formatInviteCode, inviteIdOf, parseInviteCode, PIN_BYTES } from '../../src/trust/invite-code.js';
import { networkOf, signList } from '../../src/trust/revocation-list.js';
import { cleanup, freePort, initNode, isLinked, runCli, startDaemon, tempDir, waitConnected, waitSameTree, type TestNode } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { identityOf, WIRE_PROTOCOL, WirePeer, type WireMessage } from '../support/wire-peer.js';
import { controlRequest } from '../../src/status/control.js';
import { join as joinHome } from '../../src/cli/join.js';
import { UsageError } from '../../src/core/errors.js';

const ENROL = ['wizard-enroll/1'];

let base: string;
let a: TestNode;
const nodes: TestNode[] = [];

/** A node to be made by `wizard join`: paths and a port, no home yet. */
async function joiner(name: string): Promise<TestNode> {
  const node: TestNode = { name, home: path.join(base, name, 'home'), folder: path.join(base, name, 'folder'), port: await freePort(), id: '', daemon: undefined };
  nodes.push(node);
  return node;
}

/** An invite made through alpha's control socket, as `wizard invite` makes it (the first case runs the command itself). */
async function invite(ttlMs = 3600_000): Promise<{ code: string; expiresAtMs: number }> {
  return (await controlRequest(a.home, { cmd: 'invite', folders: ['shared'], address: `127.0.0.1:${a.port}`, ttlMs })) as { code: string; expiresAtMs: number };
}

function join(node: TestNode, code: string) {
  return runCli(node.home, ['join', code, '--name', node.name, '--listen', `127.0.0.1:${node.port}`, '--folder', `shared=${node.folder}`, '--json']);
}

/** `wizard join --no-lan` in this process: what the code's address says, without the LAN search (lan-discovery.test.ts has that). */
function joinHere(node: TestNode, code: string) {
  return joinHome({ home: node.home, code, name: node.name, listen: `127.0.0.1:${node.port}`, folders: [`shared=${node.folder}`], lan: false });
}

const usage = (message: string) => new UsageError(message);

/** An enrolment connection from the wire peer, past the inviter's offer. */
async function enrolConnection(): Promise<WirePeer> {
  const peer = await WirePeer.connect({ port: a.port, identity: undefined, alpn: ENROL });
  await peer.next('enrol-offer');
  return peer;
}

const closeReason = async (peer: WirePeer): Promise<string> => String((await peer.next('close')).reason);

beforeAll(async () => {
  base = tempDir('enrol');
  a = await initNode(base, 'alpha');
  nodes.push(a);
  mkdirSync(a.folder, { recursive: true });
  writeFileSync(path.join(a.folder, 'notes.txt'), 'from alpha\n');
  await startDaemon(a);
}, 30_000);

afterAll(async () => {
  await cleanup(base, nodes);
});

describe('enrolment by invite, introductions, revocation that spreads', () => {
  let b: TestNode;
  let c: TestNode;
  let codeForC: string;
  let codeForB: string;

  it('item 3: a machine joins by a code of at most 100 characters: its own key, a certificate from the CA, no CA key; both record each other and share the folder', async () => {
    b = await joiner('beta');
    const made = await runCli(a.home, ['invite', '--folder', 'shared', '--address', `127.0.0.1:${a.port}`, '--json']);
    expect(made.stderr).toBe('');
    const { code, expiresAtMs } = JSON.parse(made.stdout) as { code: string; expiresAtMs: number };
    codeForB = code;
    expect(code.length).toBeLessThanOrEqual(100);
    expect(expiresAtMs - Date.now()).toBeGreaterThan(23 * 3600_000);
    const r = await join(b, code);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    b.id = (JSON.parse(r.stdout) as { id: string }).id;
    const certs = path.join(b.home, 'certs');
    expect(existsSync(path.join(certs, 'ca.key'))).toBe(false);
    expect(isSignedBy(readFileSync(path.join(certs, 'node.crt'), 'utf8'), readFileSync(path.join(a.home, 'certs', 'ca.crt'), 'utf8'))).toBe(true);
    expect(readFileSync(path.join(a.home, 'config.yaml'), 'utf8')).toMatch(new RegExp(`shareWith: \\[ ${b.id} \\]`));
    // The CA key is not here, so this node cannot enrol anyone.
    await startDaemon(b);
    const refused = await runCli(b.home, ['invite']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe("wizard: this node does not hold the CA key, so it cannot enrol machines: run 'wizard invite' on the node that does");
    await waitConnected(a, b);
    await waitSameTree(a, b);
  }, 30_000);

  it('item 3: a used code, an expired one and a mistyped one are refused in one line, exit 2, and make no home', async () => {
    const x = await joiner('x');
    const again = await join(x, codeForB);
    expect([again.code, again.stderr.trim()]).toEqual([2, "wizard: this invite code was used already: a code works once; ask for a new one with 'wizard invite'"]);

    // In this process, to spare a CLI start each: a UsageError is what the command exits 2 on, with its message as the line.
    await expect(joinHere(x, (await invite(1)).code)).rejects.toThrow(usage("this invite code has expired; ask for a new one with 'wizard invite'"));
    const typo = codeForB.replace(/-(.)/, (_m, ch: string) => `-${ch === 'A' ? 'B' : 'A'}`);
    await expect(joinHere(x, typo)).rejects.toThrow(usage('the invite code is mistyped or altered: its check does not match; copy it again'));
    expect(existsSync(path.join(x.home, 'config.yaml'))).toBe(false);
  }, 30_000);

  it("item 3: a code whose CA pin is not the inviter's CA is refused before its secret is used: the same code with the right pin still works after", async () => {
    c = await joiner('gamma');
    codeForC = (await invite()).code;
    const real = parseInviteCode(codeForC);
    const otherCa = createCa('Wizard CA', new Date());
    const wrongPin = formatInviteCode({ ...real, caPin: caFingerprintOf(otherCa.certPem).subarray(0, PIN_BYTES) });
    await expect(joinHere(c, wrongPin)).rejects.toThrow(
      usage(`the node at 127.0.0.1:${a.port} is not of the network this code is for (its CA differs from the one the code names): check the address, or ask for a new code`),
    );
    expect(existsSync(path.join(c.home, 'config.yaml'))).toBe(false);
  }, 20_000);

  it('item 3, hostile: a request with a forged proof is refused and withdraws the invite; a proof made for one connection fails on another', async () => {
    const { code } = await invite();
    const { secret } = parseInviteCode(code);
    const fields = { invite: inviteIdOf(secret), key: newNodeKey().spkiDer, name: 'mallory', listenPort: 0 };
    const forged = await enrolConnection();
    forged.send({ type: 'enrol-request', ...fields, proof: randomBytes(32) });
    expect(await closeReason(forged)).toBe('invite refused (wrong-proof)');
    const after = await join(await joiner('y'), code);
    expect([after.code, after.stderr.trim()]).toEqual([2, "wizard: this invite code was withdrawn after a failed attempt to use it; ask for a new one with 'wizard invite'"]);

    // Replay: a genuine proof, bound to the exporter of the connection it was made on, sent on another.
    const second = parseInviteCode((await invite()).code);
    const seen = await enrolConnection();
    const replayTo = await enrolConnection();
    const genuine = { ...fields, invite: inviteIdOf(second.secret) };
    const exporter = seen.socket.exportKeyingMaterial(ENROL_EXPORTER_BYTES, ENROL_EXPORTER_LABEL, Buffer.alloc(0));
    replayTo.send({ type: 'enrol-request', ...genuine, proof: enrolProof(second.secret, exporter, genuine) });
    expect(await closeReason(replayTo)).toBe('invite refused (wrong-proof)');
    seen.close();
  }, 20_000);

  it('item 4: the second joiner is introduced to the first (and it to them): three machines, two invites', async () => {
    const r = await join(c, codeForC);
    expect(r.code).toBe(0);
    const joined = JSON.parse(r.stdout) as { id: string; introduced: Array<{ id: string }> };
    c.id = joined.id;
    expect(joined.introduced.map((p) => p.id)).toEqual([b.id]);
    // beta heard of gamma from alpha over their link, and shares the folder with it.
    await waitFor('beta to record gamma', () => readFileSync(path.join(b.home, 'config.yaml'), 'utf8').includes(c.id), 10_000);
    await startDaemon(c);
    await waitConnected(b, c);
    await waitConnected(a, c);
  }, 30_000);

  it('item 6: a revocation signed on the CA node reaches gamma over their link, and gamma refuses beta at once, and after a restart', async () => {
    const r = await runCli(a.home, ['peer', 'remove', 'beta', '--revoke']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('The CA-signed revocation list (version 1) goes to every peer now');
    // Nothing but alpha's push brings the list to gamma while their link stays up (a link only sends it
    // when it comes up): the wait ends when gamma has dropped beta, in seconds at most on a loaded machine.
    await waitFor('gamma to drop beta', async () => !(await isLinked(c, b)) && readFileSync(path.join(c.home, 'config.yaml'), 'utf8').includes(`- ${b.id}`), 30_000);
    const took = c.daemon?.log.split('\n').filter((l) => l.includes('took a newer revocation list')) ?? [];
    expect(took, 'gamma took the list from alpha, over the link that was up').toEqual([expect.stringContaining(`"peer":"${a.id.slice(0, 8)}"`) as string]);
    await c.daemon?.stop();
    await startDaemon(c);
    // Refused before any message: beta's own certificate gets no Hello from the restarted gamma.
    // TLS 1.3: the client may see its handshake finish before the server cuts it, or not.
    const asBeta = await WirePeer.connect({ port: c.port, identity: identityOf(b.home) }).catch(() => undefined);
    if (asBeta !== undefined) {
      asBeta.send({ type: 'hello', protocol: WIRE_PROTOCOL, id: b.id, name: 'beta', listenPort: 0, intent: 'sync', folders: [] });
      await asBeta.ended;
      expect(asBeta.received).toEqual([]);
    }
    await waitFor('gamma to log the refusal', () => c.daemon?.log.includes('refused a revoked node'), 30_000);
  }, 120_000);

  it('item 6, hostile: a forged list closes the link and changes nothing; a rolled-back one is answered with the newer; without the CA key a revocation stays local', async () => {
    const d = await initNode(base, 'delta', a);
    nodes.push(d);
    const asDelta = () => WirePeer.connect({ port: c.port, identity: identityOf(d.home) });
    const pairing = await asDelta();
    pairing.send({ type: 'hello', protocol: WIRE_PROTOCOL, id: d.id, name: 'delta', listenPort: 0, intent: 'pair', folders: [] });
    await pairing.ended;
    const ca = { certPem: readFileSync(path.join(a.home, 'certs', 'ca.crt'), 'utf8'), keyPem: readFileSync(path.join(a.home, 'certs', 'ca.key'), 'utf8') };
    const network = networkOf(ca.certPem);
    const held = (): { list: string } => JSON.parse(readFileSync(path.join(c.home, 'revocations.json'), 'utf8')) as { list: string };
    const v1 = held();

    const link = async (): Promise<WirePeer> => {
      const peer = await asDelta();
      await peer.hello({ id: d.id, name: 'delta' });
      return peer;
    };
    const forger = await link();
    const fake = signList({ network, version: 9, issuedAtMs: Date.now(), revoked: [a.id] }, createCa('Wizard CA', new Date()).keyPem);
    forger.send({ type: 'revocations', list: fake.bytes, signature: fake.signature });
    expect((await forger.ended).reason).toBe('protocol error: revocation list refused: its signature is not the CA key');
    expect(held()).toEqual(v1);

    // A genuine version 2 first, then the genuine version 1 again: the rollback is answered with version 2.
    const v2 = signList({ network, version: 2, issuedAtMs: Date.now(), revoked: [b.id, 'f'.repeat(64)] }, ca.keyPem);
    const roller = await link();
    roller.send({ type: 'revocations', list: v2.bytes, signature: v2.signature });
    await waitFor('gamma to keep version 2', () => held().list === v2.bytes.toString('base64'), 20_000);
    roller.send({ type: 'revocations', list: Buffer.from(v1.list, 'base64'), signature: Buffer.from((JSON.parse(readFileSync(path.join(a.home, 'revocations.json'), 'utf8')) as { signature: string }).signature, 'base64') });
    // Once when gamma took it (it passes a newer list to every link), once more in answer to the rollback.
    const isV2 = (m: WireMessage) => m.type === 'revocations' && Buffer.from(m.list as Uint8Array).equals(v2.bytes);
    await waitFor('gamma to answer the rollback with version 2', () => roller.received.filter(isV2).length >= 2, 20_000);
    expect(held().list).toBe(v2.bytes.toString('base64'));
    roller.close();

    // On a node without the CA key a revocation is this node's alone, and the command says so.
    const local = await runCli(c.home, ['peer', 'remove', 'delta', '--revoke']);
    expect(local.code).toBe(0);
    expect(local.stdout).toContain('The revocation stays local to this node: it does not hold the CA key.');
    expect(held().list).toBe(v2.bytes.toString('base64'));
  }, 60_000);
});
