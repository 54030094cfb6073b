import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/messages.js';
import { ServedRequests } from '../../src/transport/served-requests.js';

/** A session's side of serving, recorded in order: what was sent and which blocks came back to the pool. */
function serving(sendThrows = false) {
  const events: string[] = [];
  const served = new ServedRequests({
    max: 4,
    writer: { admit: () => Promise.resolve(), settle: () => undefined },
    send: (msg: Message) => {
      events.push(`sent ${msg.type}`);
      if (sendThrows) throw new Error('session closed');
    },
    violation: (reason) => events.push(`violation ${reason}`),
    blockDone: (data) => events.push(`block back ${data.length}`),
  });
  return { served, events };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ServedRequests and the answer blocks', () => {
  it("gives an answer's block back only after the answer was sent, which framed it", async () => {
    const { served, events } = serving();
    served.serve(1, 1024, () => Promise.resolve({ type: 'response', id: 1, data: Buffer.alloc(1024) }), 'bulk', 'f');
    await settled();
    expect(events).toEqual(['sent response', 'block back 1024']);
  });

  it('gives it back when the send fails too, and gives back nothing for other answers', async () => {
    const { served, events } = serving(true);
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      served.serve(1, 1024, () => Promise.resolve({ type: 'response', id: 1, data: Buffer.alloc(1024) }), 'bulk', 'f');
      served.serve(2, 10, () => Promise.reject(Object.assign(new Error('gone'), { wireCode: 'changed' })), 'small');
      await settled();
      await settled();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(events).toEqual(['sent response', 'block back 1024', 'sent error']);
  });
});
