/**
 * The joining side's TLS connection: ALPN `wizard-enroll/1`, no client
 * certificate (the joiner has none yet), and no CA to verify the inviter
 * against yet either: the caller verifies the inviter's certificate against
 * the CA the inviter offers, once that CA has matched the pin in the code,
 * before it sends anything.
 */
import net from 'node:net';
import tls from 'node:tls';
import { WizardError, describeError } from '../core/errors.js';
import { formatHostPort } from '../transport/address.js';
import { ENROL_ALPN } from '../transport/tls.js';

const DIAL_TIMEOUT_MS = 10_000;

/** Connects to the inviter; resolves once TLS 1.3 is up with enrolment agreed, with the inviter's certificate (DER). */
export function dialEnrol(host: string, port: number, timeoutMs = DIAL_TIMEOUT_MS): Promise<{ socket: tls.TLSSocket; inviterCert: Buffer }> {
  const target = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      minVersion: 'TLSv1.3',
      ALPNProtocols: [ENROL_ALPN],
      // Verified by the caller against the pinned CA (see the file comment); never by the system roots.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      servername: net.isIP(host) === 0 ? host : undefined,
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new WizardError('UNREACHABLE', `cannot reach ${target}: no TLS handshake within ${timeoutMs} ms; is the inviting node running?`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      const cert = socket.getPeerX509Certificate();
      if (socket.alpnProtocol !== ENROL_ALPN || cert === undefined) {
        socket.destroy();
        reject(new WizardError('PROTOCOL', `${target} does not take enrolments: is it a Wizard node of this version, running?`));
        return;
      }
      resolve({ socket, inviterCert: cert.raw });
    });
    socket.on('error', (err: Error) => fail(new WizardError('UNREACHABLE', `cannot reach ${target}: ${describeError(err)}; is the inviting node running?`, { cause: err })));
  });
}
