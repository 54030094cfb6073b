import { describe, expect, it } from 'vitest';
import { ENROL_RULES, GREETING_RULES, SESSION_RULES } from '../../src/protocol/budgets.js';
import { decodeMessage, encodeBody } from '../../src/protocol/codec.js';
import { LIMITS, type Message } from '../../src/protocol/messages.js';
import { validateMessage } from '../../src/protocol/validate.js';

const request = { type: 'enrol-request', invite: 'ab'.repeat(16), key: Buffer.alloc(91), name: 'laptop', listenPort: 7842, proof: Buffer.alloc(32) };
const peer = { id: 'c'.repeat(64), name: 'nas', address: '10.0.0.2:7842', folders: ['docs'] };

describe('enrolment, introduction and revocation messages', () => {
  it('accepts the well-formed ones and copies only their fields', () => {
    expect(validateMessage({ ...request, extra: 1 })).toEqual(request);
    expect(validateMessage({ type: 'introduce', peer })).toEqual({ type: 'introduce', peer });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a proof that is not 32 bytes', { ...request, proof: Buffer.alloc(31) }],
    ['an invite handle that is not 32 hex', { ...request, invite: 'AB'.repeat(16) }],
    ['a key over 1,024 bytes', { ...request, key: Buffer.alloc(LIMITS.maxSpkiBytes + 1) }],
    ['a port above 65535', { ...request, listenPort: 65536 }],
    ['a name with a control character', { ...request, name: 'a\u001b[2J' }],
    ['an introduced address with a space', { type: 'introduce', peer: { ...peer, address: '10.0.0.2:7842 x' } }],
    ['an introduced folder ID of ..', { type: 'introduce', peer: { ...peer, folders: ['..'] } }],
    ['a grant whose cert is not one PEM certificate', { type: 'enrol-grant', cert: 'x', id: 'd'.repeat(64), name: 'n', folders: [], peers: [] }],
    ['a revocation list over 1 MiB', { type: 'revocations', list: Buffer.alloc(LIMITS.maxRevocationListBytes + 1), signature: Buffer.alloc(64) }],
  ])('refuses %s', (_what, value) => {
    expect(() => validateMessage(value)).toThrow();
  });

  it('takes enrolment messages only on an enrolment connection, and revocations and introductions only in a session', () => {
    const body = encodeBody(request as Message);
    expect(() => decodeMessage(body, SESSION_RULES)).toThrow(/second hello|not accepted|enrol-request/);
    expect(() => decodeMessage(body, GREETING_RULES)).toThrow(/first message was not hello/);
    expect(decodeMessage(body, ENROL_RULES).type).toBe('enrol-request');
    const intro = encodeBody({ type: 'introduce', peer });
    expect(decodeMessage(intro, SESSION_RULES).type).toBe('introduce');
    expect(() => decodeMessage(intro, ENROL_RULES)).toThrow(/not an enrolment message/);
  });
});
