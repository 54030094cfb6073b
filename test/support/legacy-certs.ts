/**
 * Certificates as Wizard made them before issue 15 (node-forge, RSA-2048 for
 * the CA and every node; the code of src/certs/ca.ts at 1bcb84f), for tests
 * that show homes made then keep working with nodes made now.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { PemPair } from '../../src/certs/ca.js';

const HOUR_MS = 60 * 60 * 1000;

function rsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function certificate(key: forge.pki.rsa.PrivateKey, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - HOUR_MS);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 20);
  cert.validity.notAfter = notAfter;
  return cert;
}

/** A CA as `wizard init` made it before: RSA-2048, signed by node-forge. */
export function legacyCa(commonName: string, now: Date): PemPair {
  const keyPem = rsaKeyPem();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const subject = [{ name: 'commonName', value: commonName }];
  const cert = certificate(key, now);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A node certificate as `wizard init` made it before, from an RSA CA. */
export function legacyNode(ca: PemPair, nodeName: string, now: Date): PemPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keyPem = rsaKeyPem();
  const cert = certificate(forge.pki.privateKeyFromPem(keyPem), now);
  cert.setSubject([{ name: 'commonName', value: nodeName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'wizard' }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}
