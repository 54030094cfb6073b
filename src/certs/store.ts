/**
 * The certs directory of a Wizard home: ca.crt, ca.key, node.crt, node.key.
 * Keys are readable by the owner only, and every write is atomic so a crash
 * never leaves a half-written key behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { WizardError, describeError } from '../core/errors.js';
import { type PemPair, isSignedBy, keyMatchesCert, nodeIdOf } from './ca.js';

/** Everything a node needs to speak mutual TLS, as read from its certs directory. */
export interface NodeCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** SHA-256 of node.crt: this node's identity. */
  nodeId: string;
}

const CA_CERT = 'ca.crt';
const CA_KEY = 'ca.key';
const NODE_CERT = 'node.crt';
const NODE_KEY = 'node.key';
const DIR_MODE = 0o700;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

/** Writes the CA certificate and key into `dir`, creating it owner-only. */
export function writeCa(dir: string, pair: PemPair): void {
  writePair(dir, pair, CA_CERT, CA_KEY);
}

/**
 * Writes only the CA certificate into `dir`: a node issued from a CA kept
 * elsewhere needs the certificate to verify peers, never the CA's key.
 */
export function writeCaCert(dir: string, certPem: string): void {
  ensurePrivateDir(dir);
  writeFileAtomic(path.join(dir, CA_CERT), certPem, CERT_MODE);
}

/** Reads the CA certificate and key from `dir`; throws a 'CONFIG' WizardError when absent or mismatched. */
export function readCa(dir: string): PemPair {
  const certPem = readIfExists(dir, CA_CERT);
  const keyPem = readIfExists(dir, CA_KEY);
  if (certPem === undefined || keyPem === undefined) {
    throw new WizardError('CONFIG', `no CA in ${dir}: expected ${CA_CERT} and ${CA_KEY}`);
  }
  if (!keyMatchesCert(certPem, keyPem)) {
    throw new WizardError('CONFIG', `${path.join(dir, CA_KEY)} is not the key of ${path.join(dir, CA_CERT)}`);
  }
  return { certPem, keyPem };
}

/** Writes this node's certificate and key into `dir`, creating it owner-only. */
export function writeNodeCert(dir: string, pair: PemPair): void {
  writePair(dir, pair, NODE_CERT, NODE_KEY);
}

/** Reads and cross-checks ca.crt, node.crt and node.key; throws a 'CONFIG' WizardError on any problem. */
export function loadNodeCredentials(certsDir: string): NodeCredentials {
  const caPem = readIfExists(certsDir, CA_CERT);
  const certPem = readIfExists(certsDir, NODE_CERT);
  const keyPem = readIfExists(certsDir, NODE_KEY);
  if (caPem === undefined || certPem === undefined || keyPem === undefined) {
    throw new WizardError(
      'CONFIG',
      `no node certificate in ${certsDir}: expected ${CA_CERT}, ${NODE_CERT} and ${NODE_KEY}; run wizard init`,
    );
  }
  const nodeCertPath = path.join(certsDir, NODE_CERT);
  if (!isSignedBy(certPem, caPem)) {
    throw new WizardError(
      'CONFIG',
      `${nodeCertPath} is not signed by ${path.join(certsDir, CA_CERT)}: re-run wizard init with the CA this node should use`,
    );
  }
  if (!keyMatchesCert(certPem, keyPem)) {
    throw new WizardError('CONFIG', `${path.join(certsDir, NODE_KEY)} is not the key of ${nodeCertPath}`);
  }
  return { caPem, certPem, keyPem, nodeId: nodeIdOf(certPem) };
}

function writePair(dir: string, pair: PemPair, certName: string, keyName: string): void {
  ensurePrivateDir(dir);
  // Key first: a crash in between leaves "no certificate", which reads as not initialised.
  writeFileAtomic(path.join(dir, keyName), pair.keyPem, KEY_MODE);
  writeFileAtomic(path.join(dir, certName), pair.certPem, CERT_MODE);
}

function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    // mkdir leaves an existing directory's mode alone, and its mode is filtered by the umask.
    fs.chmodSync(dir, DIR_MODE);
  } catch (err) {
    throw new WizardError('CONFIG', `cannot create ${dir}: ${describeError(err)}`, { cause: err });
  }
}

/** The file's text, or undefined when it does not exist; other read failures throw. */
function readIfExists(dir: string, name: string): string | undefined {
  const file = path.join(dir, name);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WizardError('CONFIG', `cannot read ${file}: ${describeError(err)}`, { cause: err });
  }
}
