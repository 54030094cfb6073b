import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { streamStatus } from '../../src/gui/events.js';
import { waitFor } from '../support/wait.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the live status stream', () => {
  it('sends a snapshot only when it changed, with ids that go up by one', async () => {
    let looks = 0;
    const values = [{ n: 1 }, { n: 1 }, { n: 1 }, { n: 2 }];
    server = http.createServer((req, res) => streamStatus(req, res, () => Promise.resolve(values[Math.min(looks++, values.length - 1)]), { intervalMs: 5, heartbeatMs: 60_000 }, () => undefined));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let text = '';
    const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
    });
    // Well past the change: the unchanged looks after it must have sent nothing.
    await waitFor('ten looks', () => looks >= 10);
    expect(text).toBe('id: 1\nevent: status\ndata: {"n":1}\n\nid: 2\nevent: status\ndata: {"n":2}\n\n');
    req.destroy();
  });
});
