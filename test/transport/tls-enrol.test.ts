/**
 * The listener with enrolment on (issue 16 item 3): a client that offers ALPN
 * wizard-enroll/1 without a certificate reaches enrolment; with enrolment on,
 * OpenSSL lets unverified clients finish their handshake, so every other
 * client without a verified certificate must still be refused before the
 * node sees it, and still count as a failed handshake of its source.
 */
import tls from 'node:tls';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createCa, issueNodeCert, nodeIdOf, type PemPair } from '../../src/certs/ca.js';
import { WizardError } from '../../src/core/errors.js';
import type { HandshakeLimits } from '../../src/transport/handshake-gate.js';
import { ENROL_ALPN, listen, type TlsCredentials } from '../../src/transport/tls.js';
import { waitFor } from '../support/wait.js';

const HOST = '127.0.0.1';
let caA: PemPair;
let server: TlsCredentials;
let sameCa: PemPair;
let otherCa: PemPair;

beforeAll(() => {
  const now = new Date();
  caA = createCa('Wizard CA', now);
  const node = issueNodeCert(caA, 'inviter', now);
  server = { caPem: caA.certPem, certPem: node.certPem, keyPem: node.keyPem };
  sameCa = issueNodeCert(caA, 'peer', now);
  // Same name as A: only the key tells them apart.
  const caB = createCa('Wizard CA', now);
  otherCa = issueNodeCert(caB, 'stranger', now);
});

async function start(limits?: Partial<HandshakeLimits>) {
  const seen = { enrolled: 0, connected: [] as string[], errors: [] as Error[] };
  const listener = await listen({
    host: HOST,
    port: 0,
    credentials: server,
    ...(limits === undefined ? {} : { handshakeLimits: limits }),
    onConnection: (socket, id) => {
      socket.on('error', () => undefined);
      seen.connected.push(id);
      socket.end();
    },
    onEnrol: (socket) => {
      seen.enrolled++;
      socket.end();
    },
    onError: (err) => seen.errors.push(err),
  });
  onTestFinished(() => listener.close());
  return { port: listener.port, seen };
}

/** Connects with `options` and waits until the connection is gone. */
async function attempt(port: number, options: tls.ConnectionOptions): Promise<void> {
  const socket = tls.connect({ host: HOST, port, minVersion: 'TLSv1.3', rejectUnauthorized: false, checkServerIdentity: () => undefined, ...options });
  socket.on('error', () => undefined);
  onTestFinished(() => {
    socket.destroy();
  });
  await new Promise((resolve) => (socket.closed ? resolve(undefined) : socket.once('close', resolve)));
}

const cert = (pair: PemPair): tls.ConnectionOptions => ({ cert: pair.certPem, key: pair.keyPem });

describe('listener with enrolment', () => {
  it('hands a client without a certificate that asks for enrolment to enrolment, and a CA-signed one to the node', async () => {
    const { port, seen } = await start();
    await attempt(port, { ALPNProtocols: [ENROL_ALPN] });
    await attempt(port, { ...cert(sameCa), ca: [caA.certPem] });
    await waitFor('both to be handed on', () => seen.enrolled === 1 && seen.connected.length === 1, 5000);
    expect(seen.connected).toEqual([nodeIdOf(sameCa.certPem)]);
  });

  it.each<[string, () => tls.ConnectionOptions]>([
    ['without a certificate and without enrolment', () => ({})],
    ['with a certificate from another CA', () => cert(otherCa)],
    ['with a certificate from another CA, asking for enrolment', () => ({ ...cert(otherCa), ALPNProtocols: [ENROL_ALPN] })],
    ['self-signed, asking for enrolment', () => ({ ...cert(createCa('inviter', new Date())), ALPNProtocols: [ENROL_ALPN] })],
  ])('refuses a client %s before the node sees it', async (_what, options) => {
    const { port, seen } = await start();
    await attempt(port, options());
    await waitFor('the refusal to be reported', () => seen.errors.length > 0, 5000);
    expect(seen.errors[0]).toBeInstanceOf(WizardError);
    expect((seen.errors[0] as WizardError).code).toBe('PEER_AUTH');
    expect([seen.enrolled, seen.connected]).toEqual([0, []]);
  });

  it('counts refused certificates against the source, so it is refused at accept once its budget is spent', async () => {
    const { port, seen } = await start({ failures: { burst: 2, perSecond: 0.01 } });
    for (let i = 0; i < 3; i++) await attempt(port, cert(otherCa));
    await waitFor('the source to be refused', () => seen.errors.some((e) => e.message.includes('too many of its TLS handshakes failed')), 5000);
  });
});
