/**
 * Issue 20, item 5, through the real CLI: `wizard peer remove` takes the
 * peer's name, its node ID or a prefix of it only that peer has, and says in
 * one line which peers a name that fits none, or more than one, could mean.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPeer } from '../../src/config/edit.js';
import { configPath } from '../../src/config/file.js';
import { parseConfig } from '../../src/config/schema.js';
import { initNode, runCli, tempDir, type TestNode } from '../support/daemon.js';

let base: string;
let node: TestNode;
const laptop = { id: `a1b2c3d4${'0'.repeat(56)}`, name: 'laptop', address: '10.0.0.2:7842' };
const server = { id: `a1b29999${'1'.repeat(56)}`, name: 'server', address: '' };

beforeAll(async () => {
  base = tempDir('peer-cli');
  node = await initNode(base, 'alpha');
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** Puts both peers back in the config. */
function withPeers(): void {
  let text = readFileSync(configPath(node.home), 'utf8');
  for (const p of [laptop, server]) text = addPeer(text, p);
  writeFileSync(configPath(node.home), text);
}

const peerIds = () => parseConfig(readFileSync(configPath(node.home), 'utf8'), configPath(node.home), { homeDir: base }).peers.map((p) => p.id);

describe('wizard peer remove', () => {
  it.each([
    { by: 'its name', ref: 'laptop' },
    { by: 'the 8 hex digits the log shows', ref: 'a1b2c3d4' },
    { by: 'its whole ID', ref: laptop.id },
  ])('removes a peer named by $by', async ({ ref }) => {
    withPeers();
    const res = await runCli(node.home, ['peer', 'remove', ref]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`Removed laptop (${laptop.id})`);
    expect(peerIds()).toEqual([server.id]);
  });

  it.each([
    { what: 'a prefix two peers share', ref: 'a1b2', says: "'a1b2' could be 2 peers (laptop (a1b2c3d4), server (a1b29999)): give more of the node ID" },
    { what: 'a name no peer has', ref: 'desktop', says: "no peer 'desktop'; the peers are laptop (a1b2c3d4), server (a1b29999)" },
  ])('refuses $what in one line that names the peers, with exit code 2, and changes nothing', async ({ ref, says }) => {
    withPeers();
    const res = await runCli(node.home, ['peer', 'remove', ref]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain(says);
    expect(res.stderr).not.toContain('config.yaml');
    expect(peerIds().sort()).toEqual([laptop.id, server.id].sort());
  });
});
