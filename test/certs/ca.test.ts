import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  type PemPair,
  createCa,
  isSignedBy,
  issueNodeCert,
  keyMatchesCert,
  keyTypeOf,
  nodeIdOf,
  nodeIdOfDer,
} from '../../src/certs/ca.js';
import { loadNodeCredentials, readCa, writeCa, writeNodeCert } from '../../src/certs/store.js';
import { WizardError } from '../../src/core/errors.js';
import { legacyCa, legacyNode } from '../support/legacy-certs.js';

const NOW = new Date('2030-06-01T12:00:00Z');
const HOUR_MS = 3_600_000;

let caA: PemPair;
let caB: PemPair;
let nodeA1: PemPair;
let nodeB1: PemPair;

beforeAll(() => {
  // One set of fixtures for the whole file.
  caA = createCa('Wizard CA A', NOW);
  caB = createCa('Wizard CA B', NOW);
  nodeA1 = issueNodeCert(caA, 'laptop', NOW);
  nodeB1 = issueNodeCert(caB, 'intruder', NOW);
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wizard-certs-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function thrown(fn: () => unknown): WizardError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WizardError);
    return err as WizardError;
  }
  throw new Error('expected a throw');
}

describe('node IDs', () => {
  it('is 64 lowercase hex characters and the SHA-256 of the DER', () => {
    const id = nodeIdOf(nodeA1.certPem);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const der = new X509Certificate(nodeA1.certPem).raw;
    expect(nodeIdOfDer(der)).toBe(id);
    const expected = hasOpenssl()
      ? execFileSync('openssl', ['x509', '-outform', 'DER'], { input: nodeA1.certPem })
      : der;
    expect(id).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('differs between two certificates', () => {
    expect(nodeIdOf(nodeA1.certPem)).not.toBe(nodeIdOf(nodeB1.certPem));
  });

  it('throws one CONFIG line on unparsable PEM', () => {
    const err = thrown(() => nodeIdOf('not a certificate'));
    expect(err.code).toBe('CONFIG');
    expect(err.message).not.toContain('\n');
  });
});

describe('certificates', () => {
  it('signs the node certificate with its own CA and no other', () => {
    expect(isSignedBy(nodeA1.certPem, caA.certPem)).toBe(true);
    expect(isSignedBy(nodeA1.certPem, caB.certPem)).toBe(false);
    expect(isSignedBy(nodeB1.certPem, caA.certPem)).toBe(false);
  });

  it('gives the CA and node certificates the roles, names and validity asked for', () => {
    const ca = new X509Certificate(caA.certPem);
    const node = new X509Certificate(nodeA1.certPem);
    expect(ca.ca).toBe(true);
    expect(node.ca).toBe(false);
    expect(node.subject).toBe('CN=laptop');
    expect(node.subjectAltName).toBe('DNS:wizard');
    expect(node.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(new Date(node.validFrom).getTime()).toBe(NOW.getTime() - HOUR_MS);
    expect(new Date(node.validTo).getUTCFullYear()).toBe(2050);
    expect(keyMatchesCert(nodeA1.certPem, nodeA1.keyPem)).toBe(true);
    expect(keyMatchesCert(nodeA1.certPem, caA.keyPem)).toBe(false);
  });

  it('uses a positive 16-byte serial and a sanitised common name', () => {
    const node = issueNodeCert(caA, 'bad/name\nwith=stuff', NOW);
    const cert = new X509Certificate(node.certPem);
    expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(cert.subject).toBe('CN=bad-name-with-stuff');
  });
});

describe('certs store', () => {
  it('writes keys 0600, certificates 0644 and the directory 0700', () => {
    const dir = path.join(tempDir(), 'certs');
    writeCa(dir, caA);
    writeNodeCert(dir, nodeA1);
    const mode = (name: string): number => fs.statSync(path.join(dir, name)).mode & 0o777;
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(mode('ca.key')).toBe(0o600);
    expect(mode('node.key')).toBe(0o600);
    expect(mode('ca.crt')).toBe(0o644);
    expect(mode('node.crt')).toBe(0o644);
    expect(fs.readdirSync(dir).sort()).toEqual(['ca.crt', 'ca.key', 'node.crt', 'node.key']);
  });

  it('reads back what it wrote', () => {
    const dir = tempDir();
    writeCa(dir, caA);
    writeNodeCert(dir, nodeA1);
    expect(readCa(dir)).toEqual(caA);
    expect(loadNodeCredentials(dir)).toEqual({
      caPem: caA.certPem,
      certPem: nodeA1.certPem,
      keyPem: nodeA1.keyPem,
      nodeId: nodeIdOf(nodeA1.certPem),
    });
  });

  it('says in one CONFIG line that a directory holds no CA', () => {
    const dir = path.join(tempDir(), 'missing');
    const err = thrown(() => readCa(dir));
    expect(err.code).toBe('CONFIG');
    expect(err.message).toBe(`no CA in ${dir}: expected ca.crt and ca.key`);
  });

  it('refuses a node certificate from another CA', () => {
    const dir = tempDir();
    writeCa(dir, caA);
    writeNodeCert(dir, nodeB1);
    const err = thrown(() => loadNodeCredentials(dir));
    expect(err.code).toBe('CONFIG');
    expect(err.message).toContain('is not signed by');
  });

  it('refuses a node key that does not belong to the node certificate', () => {
    const dir = tempDir();
    writeCa(dir, caA);
    writeNodeCert(dir, { certPem: nodeA1.certPem, keyPem: caA.keyPem });
    expect(thrown(() => loadNodeCredentials(dir)).message).toContain('is not the key of');
  });
});

describe('key types (item 11)', () => {
  it('gives a new CA and a new node ECDSA P-256 keys, with a node key usage of signing only', () => {
    for (const pem of [caA.certPem, caA.keyPem, nodeA1.certPem, nodeA1.keyPem]) expect(keyTypeOf(pem)).toBe('ecdsa-p256');
    const node = new X509Certificate(nodeA1.certPem);
    expect(node.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // ECDSA certificates carry no keyEncipherment: the key only signs.
    expect(node.toLegacyObject().ext_key_usage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('still makes RSA-2048 nodes when asked, as earlier versions did', () => {
    const rsa = issueNodeCert(caA, 'old-style', NOW, { keyType: 'rsa-2048' });
    expect(keyTypeOf(rsa.keyPem)).toBe('rsa-2048');
    expect(isSignedBy(rsa.certPem, caA.certPem)).toBe(true);
    expect(keyMatchesCert(rsa.certPem, rsa.keyPem)).toBe(true);
  });

  it('issues an ECDSA node from an RSA CA made by an earlier version, and the CA verifies it', () => {
    const oldCa = legacyCa('Wizard CA (old-laptop)', NOW);
    expect(keyTypeOf(oldCa.keyPem)).toBe('rsa-2048');
    const node = issueNodeCert(oldCa, 'new-laptop', NOW);
    expect(keyTypeOf(node.keyPem)).toBe('ecdsa-p256');
    expect(isSignedBy(node.certPem, oldCa.certPem)).toBe(true);
    // The issuer name and key identifier match the old CA's exactly: OpenSSL builds the chain from them.
    const [leaf, ca] = [new X509Certificate(node.certPem), new X509Certificate(oldCa.certPem)];
    expect(leaf.issuer).toBe(ca.subject);
    expect(leaf.checkIssued(ca)).toBe(true);
    const dir = tempDir();
    writeCa(dir, oldCa);
    writeNodeCert(dir, node);
    expect(loadNodeCredentials(dir).nodeId).toBe(nodeIdOf(node.certPem));
  });

  it('loads a home made by an earlier version (RSA CA, RSA node) as it is', () => {
    const oldCa = legacyCa('Wizard CA (old)', NOW);
    const oldNode = legacyNode(oldCa, 'old', NOW);
    const dir = tempDir();
    writeCa(dir, oldCa);
    writeNodeCert(dir, oldNode);
    expect(loadNodeCredentials(dir)).toEqual({ caPem: oldCa.certPem, certPem: oldNode.certPem, keyPem: oldNode.keyPem, nodeId: nodeIdOf(oldNode.certPem) });
  });

  it('refuses to sign with a CA key of a kind it cannot use, in one CONFIG line', () => {
    // A CA certificate and key of a kind Wizard does not sign with (Ed25519), made by OpenSSL.
    const { privateKey } = generateKeyPairSync('ed25519');
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    if (!hasOpenssl()) return;
    const keyFile = path.join(tempDir(), 'ed.key');
    fs.writeFileSync(keyFile, keyPem);
    const certPem = execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=ed', '-days', '1']).toString();
    const err = thrown(() => issueNodeCert({ certPem, keyPem }, 'x', NOW));
    expect(err.code).toBe('CONFIG');
    expect(err.message).toBe('the CA key is a ed25519 key; Wizard signs with RSA or ECDSA P-256/P-384 CA keys only');
  });
});
