/**
 * `wizard pair HOST[:PORT]`: introduces this node to a running peer over
 * mutual TLS and records it, on both sides.
 */
import os from 'node:os';
import { loadNodeCredentials } from '../certs/store.js';
import { editConfig, readConfig } from '../config/file.js';
import { addPeer } from '../config/edit.js';
import { systemClock } from '../core/clock.js';
import { hasCode, UsageError, WizardError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { DEFAULT_PORT } from '../node.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { controlRequest } from '../status/control.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { dial } from '../transport/tls.js';
import { PeerSession } from '../transport/session.js';
import { certsDir } from './home.js';

/** Who we paired with. */
export interface PairResult {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  /** The local daemon was running and picked the peer up. */
  readonly daemonNotified: boolean;
}

/** Pairs the node at `home` with the node listening at `target`. */
export async function pair(home: string, target: string): Promise<PairResult> {
  const homeDir = os.homedir();
  const { config } = readConfig(home, { homeDir });
  const credentials = loadNodeCredentials(certsDir(home));
  const { host, port } = parseHostPort(target, DEFAULT_PORT);
  const address = formatHostPort(host, port);
  const { socket, peerId } = await dial({ host, port, credentials });
  // Pairing is a short exchange; its log lines would only clutter the command's output.
  const session = new PeerSession({ socket, clock: systemClock, log: createLogger('silent') }, peerId, 'out');
  const theirs = await session
    .handshake({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      id: credentials.nodeId,
      name: config.name,
      listenPort: parseHostPort(config.listen, DEFAULT_PORT, { allowZero: true }).port,
      intent: 'pair',
      folders: [],
    })
    .catch((err: unknown) => {
      if (hasCode(err, 'CLOSED')) {
        throw new WizardError('PEER_AUTH', `${address} closed the connection during pairing: it may not trust our CA (both nodes must be initialised with the same CA, see wizard init --ca)`);
      }
      throw err;
    });
  session.close('paired');
  if (theirs.id === credentials.nodeId) throw new UsageError(`${address} is this node itself; pair with another machine`);
  editConfig(home, (text) => addPeer(text, { id: theirs.id, name: theirs.name, address }), { homeDir });
  let daemonNotified = false;
  try {
    await controlRequest(home, { cmd: 'reload' });
    daemonNotified = true;
  } catch (err) {
    if (!hasCode(err, 'NOT_RUNNING')) throw err;
  }
  return { id: theirs.id, name: theirs.name, address, daemonNotified };
}
