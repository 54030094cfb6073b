/**
 * `wizard init` and its certificates (item 11): a new home gets ECDSA keys,
 * and `init --ca` with a CA made by an earlier version (RSA) issues an ECDSA
 * node that CA verifies, copying the CA certificate as it is and not its key.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { isSignedBy, nodeIdOf } from '../../src/certs/ca.js';
import { loadNodeCredentials, writeCa } from '../../src/certs/store.js';
import { initHome } from '../../src/cli/init.js';
import { legacyCa } from '../support/legacy-certs.js';

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-init-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const read = (home: string, name: string) => readFileSync(path.join(home, 'certs', name), 'utf8');
/** A private key's type and curve, as OpenSSL names them: 'ec prime256v1', 'rsa'. */
const kindOf = (keyPem: string) => {
  const key = createPrivateKey(keyPem);
  return [key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve].filter(Boolean).join(' ');
};

it('item 11: a new home gets an ECDSA P-256 CA and node key', () => {
  const home = path.join(tempDir(), 'home');
  const id = initHome({ home, name: 'laptop', listen: '127.0.0.1:0', folders: [`docs=${tempDir()}`] });
  expect(kindOf(read(home, 'ca.key'))).toBe('ec prime256v1');
  expect(kindOf(read(home, 'node.key'))).toBe('ec prime256v1');
  expect(loadNodeCredentials(path.join(home, 'certs')).nodeId).toBe(id);
});

it('item 11: init --ca with an RSA CA from an earlier version issues an ECDSA node it verifies, and copies only the CA certificate', () => {
  const caDir = path.join(tempDir(), 'ca');
  const oldCa = legacyCa('Wizard CA (old-laptop)', new Date());
  writeCa(caDir, oldCa);
  const home = path.join(tempDir(), 'home');
  const id = initHome({ home, name: 'new-laptop', listen: '127.0.0.1:0', folders: [`docs=${tempDir()}`], ca: caDir });
  expect(readdirSync(path.join(home, 'certs')).sort()).toEqual(['ca.crt', 'node.crt', 'node.key']);
  expect(read(home, 'ca.crt')).toBe(oldCa.certPem);
  expect(kindOf(read(home, 'node.key'))).toBe('ec prime256v1');
  expect(isSignedBy(read(home, 'node.crt'), oldCa.certPem)).toBe(true);
  expect(nodeIdOf(read(home, 'node.crt'))).toBe(id);
});
