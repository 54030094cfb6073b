/**
 * How large each message may be, in body bytes and in msgpack values, and
 * what a peer may send before its Hello (docs/PROTOCOL.md section 2.1). The
 * frame limit bounds memory; these bound work: decoding builds one object per
 * value, so a 4 MiB body of one-byte empty maps costs millions of objects,
 * where the largest honest message has about a hundred thousand values.
 *
 * Every cap leaves room for what an honest Wizard sends (test/protocol/
 * budgets.test.ts builds the largest of each) plus unknown keys a newer peer
 * may add.
 */
import type { MessageType } from './messages.js';

/** The most a message of one type may be. */
export interface MessageBudget {
  /** Body bytes, after decompression. */
  readonly maxBytes: number;
  /** msgpack values in the body, map keys included (the map `{a: 1}` holds 3). */
  readonly maxValues: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;
/** Values of a message with a handful of scalar fields, and slack for fields added later. */
const FEW_VALUES = 256;

/**
 * Per message type. The largest honest messages: a Hello listing 1,000
 * folders (about 210 KB, 15,000 values); an index batch, which the sender
 * keeps under about 1 MiB and INDEX_BATCH_VALUES values (exchange.ts); a
 * response of 1 MiB; a files answer of 1 MiB of small files and their paths; sums of 16,384 blocks (320 KiB); a request for a path of
 * 4,096 bytes; an error or close reason of 1,024 characters (the sender cuts it).
 */
export const MESSAGE_BUDGETS: Readonly<Record<MessageType, MessageBudget>> = {
  hello: { maxBytes: 512 * KIB, maxValues: 32 * KIB },
  index: { maxBytes: 2 * MIB, maxValues: 128 * KIB },
  request: { maxBytes: 16 * KIB, maxValues: FEW_VALUES },
  response: { maxBytes: MIB + 16 * KIB, maxValues: FEW_VALUES },
  // 64 files, each a path of up to 4,096 bytes, a hash and a length (7 values with its map and keys): 270 KB, 450 values.
  'files-request': { maxBytes: 320 * KIB, maxValues: 2 * KIB },
  // Their answers: 1 MiB of bytes, the 64 paths again, or an error of 1,024 characters each instead.
  files: { maxBytes: MIB + 512 * KIB, maxValues: 2 * KIB },
  'sums-request': { maxBytes: 16 * KIB, maxValues: FEW_VALUES },
  sums: { maxBytes: 512 * KIB, maxValues: FEW_VALUES },
  error: { maxBytes: 16 * KIB, maxValues: FEW_VALUES },
  close: { maxBytes: 16 * KIB, maxValues: FEW_VALUES },
  ping: { maxBytes: KIB, maxValues: 64 },
  pong: { maxBytes: KIB, maxValues: 64 },
  'enrol-offer': { maxBytes: 16 * KIB, maxValues: FEW_VALUES },
  'enrol-request': { maxBytes: 16 * KIB, maxValues: FEW_VALUES },
  // 256 introduced peers, each with the 64 folder IDs of 64 characters an invite may name: 1.1 MB, 17,000 values.
  'enrol-grant': { maxBytes: 2 * MIB, maxValues: 32 * KIB },
  revocations: { maxBytes: MIB + 16 * KIB, maxValues: FEW_VALUES },
  introduce: { maxBytes: 128 * KIB, maxValues: 2 * KIB },
};

/** Values an index batch holds at most as a sender builds it: a quarter of what a receiver accepts. */
export const INDEX_BATCH_VALUES = MESSAGE_BUDGETS.index.maxValues / 4;

/** What a receiver accepts at one stage of a session. */
export interface MessageRules {
  /** Message types accepted now. */
  readonly types: ReadonlySet<MessageType>;
  /** Whether a compressed frame is accepted now. */
  readonly compressed: boolean;
  /** Largest body of any accepted type: a frame over it is refused on its header. */
  readonly maxBytes: number;
  /** Values a body may hold before its type is known. */
  readonly maxValues: number;
  /** What a message of another type is, for the close reason: "first message was not hello". */
  readonly refusal: string;
}

function rulesFor(types: readonly MessageType[], compressed: boolean, refusal: string): MessageRules {
  const budgets = types.map((t) => MESSAGE_BUDGETS[t]);
  return {
    types: new Set(types),
    compressed,
    refusal,
    maxBytes: Math.max(...budgets.map((b) => b.maxBytes)),
    maxValues: Math.max(...budgets.map((b) => b.maxValues)),
  };
}

/**
 * Before the peer's Hello has been accepted: a `hello` or `close`, raw. A
 * node that has not proved anything yet gets no decompression and no large
 * message out of us.
 */
export const GREETING_RULES: MessageRules = rulesFor(['hello', 'close'], false, 'first message was not hello');

/** The messages of enrolment (ALPN `wizard-enroll/1`), which never travel in a sync session. */
export const ENROL_TYPES: readonly MessageType[] = ['enrol-offer', 'enrol-request', 'enrol-grant'];

/** Once the peer's Hello has been accepted: every type but `hello` and the enrolment ones, any codec. */
export const SESSION_RULES: MessageRules = rulesFor(
  (Object.keys(MESSAGE_BUDGETS) as MessageType[]).filter((t) => t !== 'hello' && !ENROL_TYPES.includes(t)),
  true,
  'second hello',
);

/** On an enrolment connection: the enrolment messages and `close`, raw (no Hello, no compression). */
export const ENROL_RULES: MessageRules = rulesFor([...ENROL_TYPES, 'close'], false, 'not an enrolment message');

/** Every type, any codec: for tools and tests that decode whatever a body holds. */
export const ANY_MESSAGE_RULES: MessageRules = rulesFor(Object.keys(MESSAGE_BUDGETS) as MessageType[], true, 'not accepted');
