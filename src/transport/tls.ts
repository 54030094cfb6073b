/**
 * Mutual TLS between Wizard nodes. Both ends trust only the installation's CA
 * (never the system roots) and name each other by node ID, the SHA-256 of the
 * peer's certificate; host names are never checked.
 *
 * TLS 1.3 caveat (THREATS.md 4.2): the server judges the client's certificate
 * after the client has already seen its handshake complete. A client whose
 * certificate the server refuses therefore gets a resolved `dial` and then an
 * EOF or reset. That is expected: the session layer counts a link as up only
 * once the peer's Hello arrives, and backs off after a link that dies early.
 */
import { constants as cryptoConstants } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { nodeIdOfDer, shortNodeId } from '../certs/ca.js';
import { WizardError, describeError } from '../core/errors.js';
import { formatHostPort } from './address.js';
import { DEFAULT_HANDSHAKE_LIMITS, gateHandshakes, type GatedSockets, type HandshakeLimits } from './handshake-gate.js';

/** The CA this node trusts plus its own certificate and key, all PEM. */
export interface TlsCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A listening TLS server. */
export interface Listener {
  /** The bound port; the real one when 0 was asked for. */
  readonly port: number;
  /** The bound address, as the OS reports it. */
  readonly host: string;
  /**
   * Stops accepting and destroys every connection this listener accepted,
   * including established ones; close sessions first for a graceful goodbye.
   * Resolves once the server has fully closed. Idempotent.
   */
  close(): Promise<void>;
}

/** Options for {@link listen}. */
export interface ListenOptions {
  host: string;
  port: number;
  credentials: TlsCredentials;
  /** How long a client may take to finish the handshake; Node's default of 120 s lets idle sockets pile up. */
  handshakeTimeoutMs?: number;
  /** Bounds on handshakes in progress and failing, in all and per source address (handshake-gate.ts). */
  handshakeLimits?: Partial<HandshakeLimits>;
  /**
   * Called with each authenticated connection and the client's node ID. The
   * callee owns the socket from then on and must attach an 'error' handler
   * before returning. If it throws, the socket is destroyed and the error reported.
   */
  onConnection: (socket: tls.TLSSocket, peerId: string) => void;
  /** Handshake failures and server errors; none of them stops the server. */
  onError?: (err: Error) => void;
  /**
   * Called with each connection that asked for ALPN `wizard-enroll/1` and
   * presented no certificate: a machine joining by invite (trust/enrol-server.ts).
   * Without it such a client is refused like any other without a certificate.
   * Such a connection stays counted as a handshake of its source until it
   * closes, and then as a failed one: each enrolment attempt takes a token of
   * the source's failure budget (handshake-gate.ts), which bounds guessing.
   */
  onEnrol?: (socket: tls.TLSSocket) => void;
}

/** The ALPN protocol of enrolment: a joining node without a certificate yet. */
export const ENROL_ALPN = 'wizard-enroll/1';

/** Options for {@link dial}. */
export interface DialOptions {
  host: string;
  port: number;
  credentials: TlsCredentials;
  /** The node ID the peer must present; any other CA-signed node is refused. */
  expectedId?: string;
  /** Deadline for TCP connect plus handshake. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** An authenticated outgoing connection. The caller owns the socket. */
export interface DialResult {
  socket: tls.TLSSocket;
  peerId: string;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_DIAL_TIMEOUT_MS = 10_000;
// Keepalive probes find peers that vanished without a FIN (sleep, NAT drop)
// when the session is idle; the session's own ping catches the rest sooner.
const KEEPALIVE_DELAY_MS = 30_000;

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND',
  'EAI_AGAIN', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'EPIPE',
]);
// OpenSSL's verdicts for a chain that does not lead to our CA. A foreign CA
// with the same name as ours gives CERT_SIGNATURE_FAILURE rather than "no issuer".
const FOREIGN_CA_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE',
]);
const BAD_CERT_CODES = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED', 'CERT_REJECTED', 'CERT_UNTRUSTED', 'CERT_CHAIN_TOO_LONG',
  'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);

/** Starts a mutual-TLS server; resolves once it is listening. */
export function listen(opts: ListenOptions): Promise<Listener> {
  return new Promise((resolve, reject) => {
    // Inside the executor so bad credentials reject instead of throwing.
    const server = createServer(opts);
    const sockets = gateHandshakes(server, { ...DEFAULT_HANDSHAKE_LIMITS, ...opts.handshakeLimits }, {
      onEvicted: (count, cap) =>
        opts.onError?.(new WizardError('TIMEOUT', `more than ${cap} connections in their TLS handshake at once; closed the oldest ${count} (a flood of idle connections?)`)),
      onBusy: (cap, source) =>
        opts.onError?.(new WizardError('TIMEOUT', `refusing connections from ${source}: ${cap} of its TLS handshakes are in progress already`)),
      onRefused: (source) =>
        opts.onError?.(new WizardError('PEER_AUTH', `refusing connections from ${source} for a while: too many of its TLS handshakes failed`)),
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (opts.onEnrol !== undefined && isEnrolment(socket)) {
        socket.on('error', () => undefined);
        opts.onEnrol(socket);
        return;
      }
      // With enrolment on, OpenSSL lets unverified clients finish (see createServer); refused here, they count as failures.
      if (socket.authorized) sockets.handshakeDone(socket);
      acceptSecure(socket, opts);
    });
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      // Node leaves a timed-out handshake open; nothing else would ever close it.
      socket.destroy();
      opts.onError?.(handshakeError(err, socket, opts));
    });
    const onListenError = (err: Error): void => {
      const where = formatHostPort(opts.host, opts.port);
      reject(new WizardError('CONFIG', `cannot listen on ${where}: ${describeError(err)}`, { cause: err }));
    };
    server.once('error', onListenError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onListenError);
      server.on('error', (err: Error) => opts.onError?.(err));
      resolve(listenerFor(server, sockets));
    });
  });
}

/**
 * Connects to a peer and completes the TLS handshake. Rejects with
 * WizardError 'UNREACHABLE' (network, timeout), 'PEER_AUTH' (foreign CA, bad
 * certificate, wrong ID) or 'PROTOCOL' (not a TLS 1.3 peer), or with the
 * signal's reason when aborted.
 */
export function dial(opts: DialOptions): Promise<DialResult> {
  const target = formatHostPort(opts.host, opts.port);
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let socket: tls.TLSSocket;
    try {
      socket = connect(opts);
    } catch (err) {
      reject(credentialsError(err));
      return;
    }
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onSecure = (): void => {
      cleanup();
      const peer = verifyServer(socket, target, opts.expectedId);
      if (peer instanceof WizardError) {
        socket.destroy();
        reject(peer);
        return;
      }
      tuneSocket(socket);
      resolve({ socket, peerId: peer });
    };
    const onError = (err: Error): void => fail(dialError(err, target, opts.host));
    const onClose = (): void => fail(unreachable(target, new Error('connection closed during the TLS handshake')));
    const onAbort = (): void => fail(signal ? abortReason(signal) : new Error('aborted'));
    const timer = setTimeout(
      () => fail(unreachable(target, new Error(`no TLS handshake within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.once('secureConnect', onSecure);
    socket.on('error', onError);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function createServer(opts: ListenOptions): tls.Server {
  try {
    return tls.createServer({
      ...secureOptions(opts.credentials),
      requestCert: true,
      // Literal true: an undefined here once meant "accept anyone" (nodejs/node#5923). With enrolment
      // on, a joining node has no certificate yet, so OpenSSL must let it finish; acceptSecure then
      // refuses every client that is not verified and not enrolling, before the node sees it.
      rejectUnauthorized: opts.onEnrol === undefined,
      ...(opts.onEnrol === undefined ? {} : { ALPNProtocols: [ENROL_ALPN] }),
      handshakeTimeout: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      // No resumption: every connection presents and proves its certificate afresh (THREATS.md 4.2).
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    });
  } catch (err) {
    throw credentialsError(err);
  }
}

function connect(opts: DialOptions): tls.TLSSocket {
  return tls.connect({
    ...secureOptions(opts.credentials),
    host: opts.host,
    port: opts.port,
    // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 cannot switch verification off.
    rejectUnauthorized: true,
    // The CA check still runs; identity is pinned by node ID in verifyServer.
    checkServerIdentity: () => undefined,
    // SNI must not carry an IP address (RFC 6066 3).
    servername: net.isIP(opts.host) === 0 ? opts.host : undefined,
  });
}

function secureOptions(credentials: TlsCredentials): tls.SecureContextOptions {
  return {
    key: credentials.keyPem,
    cert: credentials.certPem,
    // Replaces the system roots entirely: only our CA may vouch for a peer.
    ca: [credentials.caPem],
    minVersion: 'TLSv1.3',
  };
}

/** A client that asked for enrolment and presented no certificate. */
function isEnrolment(socket: tls.TLSSocket): boolean {
  return socket.alpnProtocol === ENROL_ALPN && socket.getPeerX509Certificate() === undefined;
}

function acceptSecure(socket: tls.TLSSocket, opts: ListenOptions): void {
  const der = socket.authorized ? socket.getPeerX509Certificate()?.raw : undefined;
  // Without enrolment rejectUnauthorized refuses these already; checked here so no option change can let one through.
  if (der === undefined) {
    const from = clientAddress(socket);
    const verdict = verificationVerdict(socket);
    socket.destroy();
    const why = verdict === undefined ? 'no verified client certificate' : `its certificate is not accepted (${verdict})`;
    opts.onError?.(new WizardError('PEER_AUTH', `refused ${from}: ${why}`));
    return;
  }
  tuneSocket(socket);
  try {
    opts.onConnection(socket, nodeIdOfDer(der));
  } catch (err) {
    socket.destroy();
    opts.onError?.(err instanceof Error ? err : new Error(describeError(err)));
  }
}

/** The server's node ID, or why it is refused. */
function verifyServer(socket: tls.TLSSocket, target: string, expectedId: string | undefined): string | WizardError {
  const der = socket.authorized ? socket.getPeerX509Certificate()?.raw : undefined;
  if (der === undefined) return foreignCa(target);
  const peerId = nodeIdOfDer(der);
  const wanted = expectedId?.toLowerCase();
  if (wanted !== undefined && peerId !== wanted) {
    return new WizardError(
      'PEER_AUTH',
      `peer at ${target} presented ID ${shortNodeId(peerId)}, expected ${shortNodeId(wanted)}: it is not the node you paired with`,
    );
  }
  return peerId;
}

function tuneSocket(socket: tls.TLSSocket): void {
  socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
  // Session messages are small and latency-bound; the mux already batches bulk data.
  socket.setNoDelay(true);
}

function listenerFor(server: tls.Server, tracked: GatedSockets): Listener {
  const sockets = tracked.all;
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    host: address.address,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // server.close waits for every connection to end; ending them is what lets it finish.
        for (const raw of sockets) raw.destroy();
      });
      return closing;
    },
  };
}

function dialError(err: Error, target: string, host: string): WizardError {
  const code = errorCode(err);
  // The name is the problem, not the peer: "is the peer running?" would send the user to the wrong machine (issue 20).
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new WizardError('UNREACHABLE', `cannot resolve ${host}: check the name, or give the machine's IP address`, { cause: err });
  }
  if (FOREIGN_CA_CODES.has(code)) return foreignCa(target, err);
  if (BAD_CERT_CODES.has(code)) {
    return new WizardError('PEER_AUTH', `peer at ${target} presented an unacceptable certificate: ${describeError(err)}`, {
      cause: err,
    });
  }
  if (NETWORK_CODES.has(code)) return unreachable(target, err);
  return new WizardError(
    'PROTOCOL',
    `TLS 1.3 handshake with ${target} failed: ${describeError(err)}; is a Wizard node listening there?`,
    { cause: err },
  );
}

function handshakeError(err: Error, socket: tls.TLSSocket, opts: ListenOptions): WizardError {
  const from = clientAddress(socket);
  const verdict = verificationVerdict(socket);
  if (verdict !== undefined) {
    return new WizardError('PEER_AUTH', `refused ${from}: its certificate is not accepted (${verdict})`, { cause: err });
  }
  if (errorCode(err) === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    const ms = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    return new WizardError('TIMEOUT', `dropped ${from}: no TLS handshake within ${ms} ms`, { cause: err });
  }
  return new WizardError('PROTOCOL', `TLS handshake with ${from} failed: ${describeError(err)}`, { cause: err });
}

function foreignCa(target: string, cause?: Error): WizardError {
  return new WizardError(
    'PEER_AUTH',
    `peer at ${target} has a certificate from another CA: pair only nodes initialised with the same CA (wizard init --ca)`,
    { cause },
  );
}

function unreachable(target: string, cause: Error): WizardError {
  return new WizardError('UNREACHABLE', `cannot reach ${target}: ${describeError(cause)}; is the peer running?`, {
    cause,
  });
}

function credentialsError(err: unknown): WizardError {
  return new WizardError('CONFIG', `invalid TLS credentials: ${describeError(err)}`, { cause: err });
}

function clientAddress(socket: tls.TLSSocket): string {
  const { remoteAddress, remotePort } = socket;
  // Node clears the address once it has destroyed a refused socket.
  return remoteAddress === undefined || remotePort === undefined
    ? 'a client'
    : `client ${formatHostPort(remoteAddress, remotePort)}`;
}

/**
 * Why the client's certificate failed verification, if it did; the
 * tlsClientError itself then only says "socket hang up". Typed as an Error by
 * @types/node, but Node stores OpenSSL's code string there.
 */
function verificationVerdict(socket: tls.TLSSocket): string | undefined {
  const verdict = socket.authorizationError as Error | string | null | undefined;
  if (!verdict) return undefined;
  return typeof verdict === 'string' ? verdict : describeError(verdict);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${describeError(reason)}`);
}

function errorCode(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? '';
}
