/**
 * A client without a certificate that opens connections as fast as asked and
 * starts a TLS 1.3 handshake on each (THREATS T8, issue 15 item 11). It sends
 * one ClientHello recorded from node's TLS and never does any crypto of its
 * own, so one process floods far faster than the server can answer: each
 * answer costs the server a key exchange and a signature. It runs in a child
 * process, so the flood does not slow the test that measures the daemon.
 */
import { spawn } from 'node:child_process';

/** What the flood saw. */
export interface FloodReport {
  /** Connections opened. */
  readonly opened: number;
  /** Connections the server answered with its handshake (and so signed for). */
  readonly answered: number;
}

const SCRIPT = `
const net = require('node:net');
const tls = require('node:tls');
const [port, localAddress, perSecond, durationMs] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3]), Number(process.argv[4])];

/** The first flight of a real TLS 1.3 client, taken from a connection to a server that only records it. */
function recordClientHello() {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.once('data', (hello) => { socket.destroy(); server.close(); resolve(hello); }));
    server.listen(0, '127.0.0.1', () => {
      const client = tls.connect({ host: '127.0.0.1', port: server.address().port, minVersion: 'TLSv1.3', rejectUnauthorized: false });
      client.on('error', () => {});
    });
  });
}

recordClientHello().then((hello) => {
  let opened = 0, answered = 0, open = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    for (let i = 0; i < perSecond / 100 && open < 400; i++) {
      open++; opened++;
      const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => socket.write(hello));
      socket.once('data', () => { answered++; socket.destroy(); });
      socket.on('error', () => socket.destroy());
      socket.on('close', () => open--);
      socket.setTimeout(2000, () => socket.destroy());
    }
    if (Date.now() - started >= durationMs) {
      clearInterval(timer);
      process.stdout.write(JSON.stringify({ opened, answered }));
      process.exit(0);
    }
  }, 10);
});
`;

/** Floods 127.0.0.1:`port` from `localAddress` at `perSecond` connections for `durationMs`; resolves with what it saw. */
export function handshakeFlood(port: number, localAddress: string, perSecond: number, durationMs: number): Promise<FloodReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', SCRIPT, String(port), localAddress, String(perSecond), String(durationMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the flood exited with ${code}`));
      else resolve(JSON.parse(out) as FloodReport);
    });
  });
}
