import { createPrivateKey, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCa } from '../../src/certs/ca.js';
import { compareLists, encodeList, networkOf, openList, signList } from '../../src/trust/revocation-list.js';

const now = new Date();
const ca = createCa('Wizard CA', now);
const other = createCa('Wizard CA', now);
const rsaCa = createCa('Wizard CA', now, { keyType: 'rsa-2048' });
const id = (c: string) => c.repeat(64);

describe('revocation list', () => {
  it('opens what the CA key signed, with ECDSA and RSA CAs', () => {
    for (const c of [ca, rsaCa]) {
      const signed = signList({ network: networkOf(c.certPem), version: 1, issuedAtMs: 5, revoked: [id('b'), id('a')] }, c.keyPem);
      const opened = openList(signed.bytes, signed.signature, c.certPem);
      expect(opened).toMatchObject({ list: { version: 1, revoked: [id('a'), id('b')] } });
    }
  });

  it('refuses a list signed by another CA, altered after signing, for another network, or not canonical', () => {
    const list = { network: networkOf(ca.certPem), version: 2, issuedAtMs: 5, revoked: [id('a')] };
    const forged = signList(list, other.keyPem);
    expect(openList(forged.bytes, forged.signature, ca.certPem)).toBe('its signature is not the CA key');
    const good = signList(list, ca.keyPem);
    const altered = Buffer.from(good.bytes.toString().replace(id('a'), id('c')));
    expect(openList(altered, good.signature, ca.certPem)).toBe('its signature is not the CA key');
    const foreign = signList({ ...list, network: networkOf(other.certPem) }, ca.keyPem);
    expect(openList(foreign.bytes, foreign.signature, ca.certPem)).toBe('it is for another network (another CA)');
    // A non-canonical body signed as such: the same list in two forms would defeat "same version, same bytes".
    const spaced = Buffer.from(JSON.stringify(JSON.parse(good.bytes.toString()), null, 1));
    expect(openList(spaced, sign('sha256', spaced, createPrivateKey(ca.keyPem)), ca.certPem)).toBe('it is not in canonical form');
  });

  it('a newer version replaces, an older one is a rollback, the same version with other bytes is a conflict', () => {
    const network = networkOf(ca.certPem);
    const v1 = signList({ network, version: 1, issuedAtMs: 1, revoked: [id('a')] }, ca.keyPem);
    const v2 = signList({ network, version: 2, issuedAtMs: 2, revoked: [id('a'), id('b')] }, ca.keyPem);
    const v2b = signList({ network, version: 2, issuedAtMs: 3, revoked: [id('c')] }, ca.keyPem);
    expect(compareLists(undefined, v1)).toBe('newer');
    expect(compareLists(v1, v2)).toBe('newer');
    expect(compareLists(v2, v1)).toBe('older');
    expect(compareLists(v2, v2)).toBe('same');
    expect(compareLists(v2, v2b)).toBe('conflict');
    expect(encodeList(v2.list).equals(v2.bytes)).toBe(true);
  });
});
