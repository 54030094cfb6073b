/**
 * Issue 20, item 5: a peer is named by its ID, a unique prefix of it, or its
 * name, everywhere a command asks for one.
 */
import { describe, expect, it } from 'vitest';
import { resolvePeerRef } from '../../src/config/peer-ref.js';
import type { PeerConfig } from '../../src/config/schema.js';

const laptop: PeerConfig = { id: `a1b2c3d4${'0'.repeat(56)}`, name: 'laptop', address: '10.0.0.2:7842' };
const server: PeerConfig = { id: `a1b29999${'1'.repeat(56)}`, name: 'server', address: '' };
const other: PeerConfig = { id: `ffee${'2'.repeat(60)}`, name: 'Laptop', address: '' };
const peers = [laptop, server, other];

describe('resolvePeerRef', () => {
  it.each([
    { description: 'the whole ID', ref: laptop.id, want: laptop },
    { description: 'the whole ID in capitals', ref: laptop.id.toUpperCase(), want: laptop },
    { description: 'the 8-hex prefix logs show', ref: 'a1b2c3d4', want: laptop },
    { description: 'a shorter unique prefix', ref: 'ffe', want: other },
    { description: 'an exact name', ref: 'laptop', want: laptop },
    { description: 'an exact name that differs from another only in case', ref: 'Laptop', want: other },
    { description: 'a name in another case, when only one peer has it', ref: 'SERVER', want: server },
    { description: 'surrounding spaces', ref: ' server ', want: server },
  ])('finds a peer by $description', ({ ref, want }) => {
    expect(resolvePeerRef(peers, ref)).toEqual({ ok: true, peer: want });
  });

  it.each([
    { description: 'a prefix two IDs share', ref: 'a1b2', error: /'a1b2' could be 2 peers \(laptop \(a1b2c3d4\), server \(a1b29999\)\): give more of the node ID/ },
    { description: 'a name nobody has', ref: 'desktop', error: /no peer 'desktop'; the peers are laptop \(a1b2c3d4\), Laptop \(ffee2222\), server \(a1b29999\)/ },
    { description: 'nothing at all', ref: '  ', error: /no peer given/ },
  ])('says which peers $description could be, in one line', ({ ref, error }) => {
    const r = resolvePeerRef(peers, ref);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(error);
      expect(r.error).not.toContain('\n');
    }
  });

  it('points a node with no peers at pairing', () => {
    expect(resolvePeerRef([], 'laptop')).toEqual({ ok: false, error: "no peer 'laptop': this node has no peers yet; pair one with 'wizard pair HOST'" });
  });
});
