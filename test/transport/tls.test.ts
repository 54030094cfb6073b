import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type PemPair, createCa, issueNodeCert, keyTypeOf, nodeIdOf } from '../../src/certs/ca.js';
import { WizardError } from '../../src/core/errors.js';
import { legacyCa, legacyNode } from '../support/legacy-certs.js';
import { waitFor } from '../support/wait.js';
import {
  type ListenOptions,
  type Listener,
  type TlsCredentials,
  dial,
  listen,
} from '../../src/transport/tls.js';

const HOST = '127.0.0.1';
// Generous: a condition that should hold in milliseconds gets this long before the test fails.
const DEADLINE_MS = 5_000;

let credA1: TlsCredentials;
let credA2: TlsCredentials;
let credB1: TlsCredentials;
/** A node certificate from CA B that trusts CA A: passes its own check, fails the server's. */
let credB1TrustingA: TlsCredentials;

function credentials(ca: PemPair, node: PemPair): TlsCredentials {
  return { caPem: ca.certPem, certPem: node.certPem, keyPem: node.keyPem };
}

beforeAll(() => {
  const now = new Date();
  const caA = createCa('Wizard CA', now);
  // Same name as A on purpose: only the key may tell the CAs apart.
  const caB = createCa('Wizard CA', now);
  credA1 = credentials(caA, issueNodeCert(caA, 'a1', now));
  credA2 = credentials(caA, issueNodeCert(caA, 'a2', now));
  credB1 = credentials(caB, issueNodeCert(caB, 'b1', now));
  credB1TrustingA = { ...credB1, caPem: caA.certPem };
});

interface TestServer {
  listener: Listener;
  connections: { socket: tls.TLSSocket; peerId: string }[];
  errors: Error[];
  firstConnection: Promise<{ socket: tls.TLSSocket; peerId: string }>;
  firstError: Promise<Error>;
}

async function startServer(
  credentials: TlsCredentials,
  extra: Partial<Pick<ListenOptions, 'handshakeTimeoutMs' | 'handshakeLimits'>> = {},
): Promise<TestServer> {
  const connections: TestServer['connections'] = [];
  const errors: Error[] = [];
  let onFirstConnection: (c: TestServer['connections'][number]) => void = () => {};
  let onFirstError: (err: Error) => void = () => {};
  const firstConnection = new Promise<TestServer['connections'][number]>((resolve) => (onFirstConnection = resolve));
  const firstError = new Promise<Error>((resolve) => (onFirstError = resolve));
  const listener = await listen({
    host: HOST,
    port: 0,
    credentials,
    ...extra,
    onConnection(socket, peerId) {
      socket.on('error', () => {});
      connections.push({ socket, peerId });
      onFirstConnection({ socket, peerId });
    },
    onError(err) {
      errors.push(err);
      onFirstError(err);
    },
  });
  onTestFinished(() => listener.close());
  return { listener, connections, errors, firstConnection, firstError };
}

async function dialTracked(...args: Parameters<typeof dial>): ReturnType<typeof dial> {
  const result = await dial(...args);
  result.socket.on('error', () => {});
  onTestFinished(() => {
    result.socket.destroy();
  });
  return result;
}

async function rejection(p: Promise<unknown>): Promise<WizardError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WizardError);
  return err as WizardError;
}

function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), DEADLINE_MS);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts and never answers: a stuck handshake. */
async function silentServer(): Promise<number> {
  const accepted = new Set<net.Socket>();
  const server = net.createServer((socket) => accepted.add(socket));
  server.listen(0, HOST);
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function readSome(socket: tls.TLSSocket): Promise<string> {
  const [chunk] = (await withDeadline(once(socket, 'data'), 'data')) as [Buffer];
  return chunk.toString();
}

describe('dial and listen with one CA', () => {
  const roles = [
    { description: 'a1 serves, a2 dials', server: () => credA1, client: () => credA2 },
    { description: 'a2 serves, a1 dials', server: () => credA2, client: () => credA1 },
  ];
  it.each(roles)('$description: both learn the other ID and bytes flow both ways', async ({ server, client }) => {
    const srv = await startServer(server());
    const { socket, peerId } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: client() });
    const inbound = await withDeadline(srv.firstConnection, 'onConnection');

    expect(peerId).toBe(nodeIdOf(server().certPem));
    expect(inbound.peerId).toBe(nodeIdOf(client().certPem));
    socket.write('ping');
    expect(await readSome(inbound.socket)).toBe('ping');
    inbound.socket.write('pong');
    expect(await readSome(socket)).toBe('pong');
  });

  it('accepts the expected ID in any case', async () => {
    const srv = await startServer(credA1);
    const expectedId = nodeIdOf(credA1.certPem).toUpperCase();
    const { peerId } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2, expectedId });
    expect(peerId).toBe(nodeIdOf(credA1.certPem));
  });

  it('T2: refuses a same-CA server that is not the expected node', async () => {
    const srv = await startServer(credA1);
    const expectedId = nodeIdOf(credA2.certPem);
    const err = await rejection(dial({ host: HOST, port: srv.listener.port, credentials: credA2, expectedId }));
    expect(err.code).toBe('PEER_AUTH');
    expect(err.message).toContain(`presented ID ${nodeIdOf(credA1.certPem).slice(0, 12)}`);
    expect(err.message).toContain('it is not the node you paired with');
  });

  it('ends established connections on close', async () => {
    const srv = await startServer(credA1);
    const { socket } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
    await withDeadline(srv.firstConnection, 'onConnection');
    const closed = once(socket, 'close');
    await withDeadline(srv.listener.close(), 'listener close');
    await withDeadline(closed, 'client socket close');
    await srv.listener.close();
  });
});

describe('peers from another CA', () => {
  it('refuses a server whose certificate comes from another CA', async () => {
    const srv = await startServer(credB1);
    const err = await rejection(dial({ host: HOST, port: srv.listener.port, credentials: credA1 }));
    expect(err.code).toBe('PEER_AUTH');
    expect(err.message).toBe(
      `peer at ${HOST}:${srv.listener.port} has a certificate from another CA: ` +
        'pair only nodes initialised with the same CA (wizard init --ca)',
    );
  });

  it('T1: never hands the server a client whose certificate comes from another CA', async () => {
    const srv = await startServer(credA1);
    // TLS 1.3: the client may see its handshake finish before the server refuses it.
    const outcome = dial({ host: HOST, port: srv.listener.port, credentials: credB1TrustingA }).then(
      async ({ socket }) => {
        socket.on('error', () => {});
        onTestFinished(() => {
          socket.destroy();
        });
        if (!socket.closed) await once(socket, 'close');
      },
      (err: unknown) => err,
    );
    await withDeadline(outcome, 'the refused client to be cut off');
    const err = await withDeadline(srv.firstError, 'onError');

    expect(srv.connections).toEqual([]);
    expect(err).toBeInstanceOf(WizardError);
    expect((err as WizardError).code).toBe('PEER_AUTH');
  });
});

describe('failures', () => {
  it('T8: drops a TCP client that never starts the handshake', async () => {
    const srv = await startServer(credA1, { handshakeTimeoutMs: 300 });
    const started = Date.now();
    const socket = net.connect(srv.listener.port, HOST);
    socket.on('error', () => {});
    onTestFinished(() => {
      socket.destroy();
    });
    await withDeadline(once(socket, 'close'), 'the idle client to be dropped');
    const err = await withDeadline(srv.firstError, 'onError');

    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((err as WizardError).code).toBe('TIMEOUT');
    expect(srv.connections).toEqual([]);
  });

  /** A raw TCP connection to `port` that never starts TLS. */
  async function idleClient(port: number): Promise<net.Socket> {
    const socket = net.connect(port, HOST);
    socket.on('error', () => {});
    onTestFinished(() => {
      socket.destroy();
    });
    await withDeadline(once(socket, 'connect'), 'connect');
    return socket;
  }

  it('T8: past maxPending handshakes the oldest handshake is closed, so an honest client after a flood still gets in', async () => {
    const srv = await startServer(credA1, { handshakeLimits: { maxPending: 3 }, handshakeTimeoutMs: 60_000 });
    const idle: net.Socket[] = [];
    for (let i = 0; i < 5; i++) idle.push(await idleClient(srv.listener.port));
    await withDeadline(Promise.all(idle.slice(0, 2).map((s) => once(s, 'close'))), 'the two oldest idle clients to be closed');
    const { socket } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
    await withDeadline(srv.firstConnection, 'onConnection');
    expect(socket.destroyed).toBe(false);
    // Closed in arrival order: the newest idle ones are still open (one gave way to the honest client).
    expect(idle.slice(3).map((s) => s.destroyed)).toEqual([false, false]);
    expect(srv.errors.map((e) => e.message).filter((m) => m.includes('TLS handshake at once'))).toHaveLength(1);
  });

  it('T8: connections past their handshake never count against the cap', async () => {
    const srv = await startServer(credA1, { handshakeLimits: { maxPending: 2 }, handshakeTimeoutMs: 60_000 });
    const first = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
    const second = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
    await waitFor('both connections on the server', () => srv.connections.length === 2, 10_000);
    const idle: net.Socket[] = [];
    for (let i = 0; i < 4; i++) idle.push(await idleClient(srv.listener.port));
    await withDeadline(Promise.all(idle.slice(0, 2).map((s) => once(s, 'close'))), 'the oldest idle clients to be closed');
    for (const [i, { socket }] of [first, second].entries()) {
      socket.write(`ping${i}`);
      expect(await readSome(srv.connections[i]?.socket as tls.TLSSocket)).toBe(`ping${i}`);
    }
  });

  it('reports a closed port as unreachable', async () => {
    const port = await closedPort();
    const err = await rejection(dial({ host: HOST, port, credentials: credA1 }));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toMatch(new RegExp(`^cannot reach ${HOST}:${port}: .*ECONNREFUSED.*; is the peer running\\?$`));
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('T8: gives up on a handshake that never finishes', async () => {
    const port = await silentServer();
    const err = await rejection(dial({ host: HOST, port, credentials: credA1, timeoutMs: 200 }));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toContain('no TLS handshake within 200 ms');
  });

  it('rejects with the abort reason when the signal fires mid-dial', async () => {
    const port = await silentServer();
    const controller = new AbortController();
    const pending = dial({ host: HOST, port, credentials: credA1, signal: controller.signal });
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });

  it('does not connect when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already stopped'));
    await expect(dial({ host: HOST, port: 1, credentials: credA1, signal: controller.signal })).rejects.toThrow(
      'already stopped',
    );
  });

  it('reports unusable credentials as CONFIG', async () => {
    const broken = { ...credA1, keyPem: 'not a key' };
    expect((await rejection(dial({ host: HOST, port: 1, credentials: broken }))).code).toBe('CONFIG');
    const listening = listen({ host: HOST, port: 0, credentials: broken, onConnection: () => {} });
    expect((await rejection(listening)).code).toBe('CONFIG');
  });

  it('reports a port in use as CONFIG', async () => {
    const srv = await startServer(credA1);
    const second = listen({ host: HOST, port: srv.listener.port, credentials: credA1, onConnection: () => {} });
    const err = await rejection(second);
    expect(err.code).toBe('CONFIG');
    expect(err.message).toContain('EADDRINUSE');
  });
});

/** A leaf for `subject` signed by `issuer`'s key, with the EKU given (the real issuer always sets both). */
function forgeLeaf(issuer: PemPair, extKeyUsage: { serverAuth: boolean; clientAuth: boolean }): PemPair {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const issuerCert = forge.pki.certificateFromPem(issuer.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '4a' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86400_000);
  cert.setSubject([{ name: 'commonName', value: 'forged' }]);
  cert.setIssuer(issuerCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', ...extKeyUsage },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(issuer.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

describe('client certificates the server refuses (T1)', () => {
  let caA: PemPair;
  let nodeA1: PemPair;
  beforeAll(() => {
    const now = new Date();
    // RSA, as earlier versions made them, so that forgeLeaf (node-forge) can sign with their keys.
    caA = createCa('Wizard CA', now, { keyType: 'rsa-2048' });
    nodeA1 = issueNodeCert(caA, 'a1', now, { keyType: 'rsa-2048' });
  });

  /** Connects with `options` (trusting the server's CA) and expects the server to refuse it and hand nothing on. */
  async function expectRefused(options: tls.ConnectionOptions): Promise<void> {
    const srv = await startServer({ caPem: caA.certPem, certPem: nodeA1.certPem, keyPem: nodeA1.keyPem });
    const socket = tls.connect({ host: HOST, port: srv.listener.port, ca: [caA.certPem], checkServerIdentity: () => undefined, ...options });
    socket.on('error', () => {});
    onTestFinished(() => {
      socket.destroy();
    });
    // TLS 1.3: the client may see its handshake finish before the server refuses it; either way it is cut off.
    // Not events.once: it rejects on the 'error' (the server's alert) that precedes the close.
    await withDeadline(new Promise((resolve) => (socket.closed ? resolve(undefined) : socket.once('close', resolve))), 'the refused client to be cut off');
    const err = await withDeadline(srv.firstError, 'onError');
    expect(srv.connections).toEqual([]);
    expect(err).toBeInstanceOf(WizardError);
  }

  const cases: Array<{ description: string; client: () => tls.ConnectionOptions }> = [
    { description: 'self-signed', client: () => issued(createCa('a1', new Date())) },
    { description: 'expired', client: () => issued(issueNodeCert(caA, 'old', new Date(Date.now() - 30 * 365 * 86400_000))) },
    { description: 'not yet valid', client: () => issued(issueNodeCert(caA, 'future', new Date(Date.now() + 365 * 86400_000))) },
    { description: 'missing', client: () => ({}) },
    { description: 'issued by another node (its leaf used as an intermediate)', client: () => chained(forgeLeaf(nodeA1, { serverAuth: true, clientAuth: true }), nodeA1) },
    { description: 'without the clientAuth EKU', client: () => issued(forgeLeaf(caA, { serverAuth: true, clientAuth: false })) },
  ];
  const issued = (pair: PemPair): tls.ConnectionOptions => ({ cert: pair.certPem, key: pair.keyPem });
  const chained = (leaf: PemPair, via: PemPair): tls.ConnectionOptions => ({ cert: leaf.certPem + via.certPem, key: leaf.keyPem });

  it.each(cases)('T1: refuses a client certificate that is $description', async ({ client }) => {
    await expectRefused(client());
  });

  it('T4: refuses a client that offers at most TLS 1.2', async () => {
    await expectRefused({ cert: nodeA1.certPem, key: nodeA1.keyPem, maxVersion: 'TLSv1.2' });
  });

  it('T7: still refuses another CA with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment', async () => {
    const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    onTestFinished(() => {
      if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
    });
    const srv = await startServer(credB1);
    const err = await rejection(dial({ host: HOST, port: srv.listener.port, credentials: credA1 }));
    expect(err.code).toBe('PEER_AUTH');
    // And the server side: a client from another CA is still never handed on.
    const srvA = await startServer(credA1);
    const outcome = dial({ host: HOST, port: srvA.listener.port, credentials: credB1TrustingA }).then(
      async ({ socket }) => {
        socket.on('error', () => {});
        onTestFinished(() => {
          socket.destroy();
        });
        if (!socket.closed) await once(socket, 'close');
      },
      (e: unknown) => e,
    );
    await withDeadline(outcome, 'the refused client to be cut off');
    await withDeadline(srvA.firstError, 'onError');
    expect(srvA.connections).toEqual([]);
  });
});

describe('handshakes limited per source address (item 11)', () => {
  /** Another loopback address, standing for another machine. */
  const OTHER = '127.0.0.2';

  /** A TLS client from `localAddress` without a certificate: its handshake fails on the server. Resolves once it is closed. */
  function certless(port: number, localAddress: string): Promise<{ secured: boolean }> {
    return new Promise((resolve) => {
      let secured = false;
      const socket = tls.connect({ socket: net.connect({ host: HOST, port, localAddress }), rejectUnauthorized: false, minVersion: 'TLSv1.3' });
      socket.on('secureConnect', () => (secured = true));
      socket.on('error', () => {});
      socket.on('close', () => resolve({ secured }));
      onTestFinished(() => {
        socket.destroy();
      });
    });
  }

  /** A raw TCP connection from `localAddress` that never starts TLS. */
  async function idleFrom(port: number, localAddress: string): Promise<net.Socket> {
    const socket = net.connect({ port, host: HOST, localAddress });
    socket.on('error', () => {});
    onTestFinished(() => {
      socket.destroy();
    });
    await withDeadline(once(socket, 'connect'), 'connect');
    return socket;
  }

  it('item 11: a source whose handshakes keep failing is refused at accept, before any TLS work, while another source gets in', async () => {
    const srv = await startServer(credA1, { handshakeLimits: { failures: { burst: 3, perSecond: 0.1 } } });
    for (let i = 0; i < 3; i++) expect((await withDeadline(certless(srv.listener.port, OTHER), 'a failed handshake')).secured).toBe(true);
    // Budget spent: the next one is closed before the server even answers its ClientHello.
    expect((await withDeadline(certless(srv.listener.port, OTHER), 'a refused connection')).secured).toBe(false);
    await waitFor('the refusal reported', () => srv.errors.some((e) => e.message === `refusing connections from ${OTHER} for a while: too many of its TLS handshakes failed`), DEADLINE_MS);
    const { peerId } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
    expect(peerId).toBe(nodeIdOf(credA1.certPem));
  });

  it('item 11: handshakes that succeed cost a source nothing, however many', async () => {
    const srv = await startServer(credA1, { handshakeLimits: { failures: { burst: 1, perSecond: 0.1 } } });
    for (let i = 1; i <= 5; i++) {
      const { socket } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
      // TLS 1.3: the client is done before the server; closing before the server is done would be a failure.
      await waitFor(`connection ${i} on the server`, () => srv.connections.length === i, DEADLINE_MS);
      socket.destroy();
    }
  });

  it('item 11: a flood of idle connections from one source never closes a handshake from another', async () => {
    const srv = await startServer(credA1, { handshakeLimits: { maxPending: 8, maxPendingPerSource: 4 }, handshakeTimeoutMs: 60_000 });
    const honest = await idleFrom(srv.listener.port, HOST);
    const flood: net.Socket[] = [];
    for (let i = 0; i < 20; i++) flood.push(await idleFrom(srv.listener.port, OTHER));
    // The source's first four wait their handshake timeout; the rest are refused as they arrive.
    await withDeadline(Promise.all(flood.slice(4).map((s) => (s.destroyed ? Promise.resolve() : once(s, 'close')))), 'the newest of the flood to be refused');
    expect(flood.slice(0, 4).map((s) => s.destroyed)).toEqual([false, false, false, false]);
    expect(honest.destroyed).toBe(false);
    expect(srv.errors.map((e) => e.message)).toContain(`refusing connections from ${OTHER}: 4 of its TLS handshakes are in progress already`);
    // And the other source still gets a whole handshake.
    const { peerId } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credA2 });
    expect(peerId).toBe(nodeIdOf(credA1.certPem));
  });
});

describe('key types: homes made before issue 15 keep working with nodes made now (item 11)', () => {
  const now = new Date();
  const pairs = [
    {
      description: 'under an RSA CA made by an earlier version: its RSA node and a new ECDSA node',
      make: () => {
        const ca = legacyCa('Wizard CA (old)', now);
        return { ca, rsa: legacyNode(ca, 'old-node', now), ecdsa: issueNodeCert(ca, 'new-node', now) };
      },
    },
    {
      description: 'under a new ECDSA CA: an RSA node and an ECDSA node',
      make: () => {
        const ca = createCa('Wizard CA', now);
        return { ca, rsa: issueNodeCert(ca, 'rsa-node', now, { keyType: 'rsa-2048' }), ecdsa: issueNodeCert(ca, 'ecdsa-node', now) };
      },
    },
  ];
  it.each(pairs)('$description connect each way, each learning the other ID', async ({ make }) => {
    const { ca, rsa, ecdsa } = make();
    expect([keyTypeOf(rsa.keyPem), keyTypeOf(ecdsa.keyPem)]).toEqual(['rsa-2048', 'ecdsa-p256']);
    for (const [server, client] of [
      [rsa, ecdsa],
      [ecdsa, rsa],
    ] as const) {
      const srv = await startServer(credentials(ca, server));
      const { peerId } = await dialTracked({ host: HOST, port: srv.listener.port, credentials: credentials(ca, client), expectedId: nodeIdOf(server.certPem) });
      const inbound = await withDeadline(srv.firstConnection, 'onConnection');
      expect(peerId).toBe(nodeIdOf(server.certPem));
      expect(inbound.peerId).toBe(nodeIdOf(client.certPem));
    }
  });
});
