/**
 * The wire messages. Every message is a msgpack map with a `type` field, sent
 * in one length-prefixed frame (see framing.ts and docs/PROTOCOL.md). Nothing
 * here is trusted until `validateMessage` (validate.ts) has checked it.
 */
import type { FileEntry } from '../index/entry.js';

/** Bumped on any incompatible change; peers with another version are refused. */
export const PROTOCOL_VERSION = 7;

/** Hard ceilings, checked before anything is allocated or used. */
export const LIMITS = {
  /** Largest frame body accepted (bytes). A data chunk plus headroom. */
  maxFrameBytes: 4 * 1024 * 1024,
  /** Largest block a Request may ask for, and a Response may carry. */
  maxBlockBytes: 1024 * 1024,
  /** Files one FilesRequest may ask for. */
  maxFilesPerRequest: 64,
  /** Largest `length` of one file of a FilesRequest: small files only (the whole file of up to 64 KiB). */
  maxBatchFileBytes: 64 * 1024,
  /** Sum of the `length`s of one FilesRequest, and so the most file bytes one Files answer carries. */
  maxBatchBytes: 1024 * 1024,
  /** Entries in one Index message. */
  maxEntriesPerIndex: 1000,
  /** Folders in one Hello. */
  maxFolders: 1000,
  /** Keys in one version vector. */
  maxVersionKeys: 1000,
  /** Bytes of a relative path (UTF-8). Linux PATH_MAX. */
  maxPathBytes: 4096,
  /** Bytes of one path component (UTF-8). NAME_MAX on common filesystems. */
  maxNameBytes: 255,
  /** Characters of a node's display name. */
  maxNodeNameChars: 64,
  /** Characters of an error message. */
  maxMessageChars: 1024,
  /** Blocks in one SumsRequest or Sums: 20 bytes each, so a Sums frame stays under 400 KiB. */
  maxSumsPerMessage: 16384,
  /** Smallest block size sums may be asked for (the delta floor). */
  minSumsBlockBytes: 1024,
  /** Largest block size sums may be asked for. */
  maxSumsBlockBytes: 64 * 1024,
  /** Bytes of strong hash per block in a Sums message (truncated SHA-256). */
  strongBytes: 16,
  /** Most blocks folded into one group digest; 256 x 64 KiB keeps on-demand work per answer at 16 MiB. */
  maxSumsGroup: 256,
  /** Characters of a certificate PEM in an enrolment message (an ECDSA or RSA-4096 certificate is under 3,000). */
  maxCertPemChars: 8192,
  /** Bytes of a public key (SPKI DER) a joining node sends: an ECDSA P-256 one is 91. */
  maxSpkiBytes: 1024,
  /** Bytes of a revocation list's canonical encoding. */
  maxRevocationListBytes: 1024 * 1024,
  /** Node IDs one revocation list may name: 67 bytes each in its encoding, so the most fit in maxRevocationListBytes. */
  maxRevokedNodes: 15000,
  /** Bytes of a signature (RSA-4096 is 512; DER ECDSA is under 140). */
  maxSignatureBytes: 1024,
  /** Peers one enrolment grant introduces. */
  maxIntroducedPeers: 256,
  /** Folders one invite shares (and so one grant or introduction names). */
  maxInviteFolders: 64,
  /** Characters of a peer address (host:port) in an introduction. */
  maxAddressChars: 300,
} as const;

/** Per shared folder, in Hello. */
export interface HelloFolder {
  /** Folder ID, the same on every node that shares the folder. */
  readonly id: string;
  /** Identifies this incarnation of the sender's index (16 hex); a new one means "start over". */
  readonly indexId: string;
  /** The sender's highest sequence in this folder. */
  readonly maxSequence: number;
  /** Order-independent digest of the sender's (path, version, deleted) set (32 hex). */
  readonly digest: string;
  /** What the sender already has of the receiver's index: the receiver sends only entries above `sequence` when `indexId` matches. */
  readonly have: { readonly indexId: string; readonly sequence: number };
}

/** First message on every connection, both ways. */
export interface Hello {
  readonly type: 'hello';
  readonly protocol: number;
  /** Sender's node ID (64 hex); must equal its certificate fingerprint. */
  readonly id: string;
  readonly name: string;
  /** Port the sender accepts connections on, so a pairing peer can dial back (0: none). */
  readonly listenPort: number;
  /** 'pair': record me as a peer, answer with your Hello, then I close. */
  readonly intent: 'sync' | 'pair';
  readonly folders: readonly HelloFolder[];
}

/** Index entries of one folder, in sequence order. */
export interface IndexMessage {
  readonly type: 'index';
  readonly folder: string;
  /** The sender's indexId for this folder. */
  readonly indexId: string;
  /** True on the first batch of a full index: the receiver forgets what it had of the sender's index. */
  readonly reset: boolean;
  readonly entries: readonly FileEntry[];
}

/** Asks for `length` bytes at `offset` of a file whose content has `hash`. */
export interface RequestMessage {
  readonly type: 'request';
  readonly id: number;
  readonly folder: string;
  readonly path: string;
  readonly hash: string;
  readonly offset: number;
  readonly length: number;
}

/** The bytes for request `id`. Shorter than asked only at end of file. */
export interface ResponseMessage {
  readonly type: 'response';
  readonly id: number;
  readonly data: Uint8Array;
}

/** One file of a FilesRequest: its first `length` bytes (the whole of a small file), as for a `request` at offset 0. */
export interface FileAsk {
  readonly path: string;
  readonly hash: string;
  readonly length: number;
}

/**
 * Asks for many small files of one folder in one message (at most
 * `LIMITS.maxFilesPerRequest`, each `length` at most `LIMITS.maxBatchFileBytes`,
 * together at most `LIMITS.maxBatchBytes`). Answered with one `files`, or an
 * `error` for the whole request.
 */
export interface FilesRequestMessage {
  readonly type: 'files-request';
  readonly id: number;
  readonly folder: string;
  readonly files: readonly FileAsk[];
}

/** One file of a Files answer, in the order asked and naming the path asked: its bytes, or why not (the codes of `error`). */
export type FileAnswer =
  | { readonly path: string; readonly data: Uint8Array }
  | { readonly path: string; readonly code: ErrorMessage['code']; readonly message: string };

/** The answer to files-request `id`: one entry per file asked, in order. */
export interface FilesMessage {
  readonly type: 'files';
  readonly id: number;
  readonly files: readonly FileAnswer[];
}

/**
 * Asks for the block sums of a file whose content has `hash`: blocks
 * `first .. first + count - 1` of `blockSize` bytes (the last may be short).
 * Answered with `sums` or `error`.
 */
export interface SumsRequestMessage {
  readonly type: 'sums-request';
  readonly id: number;
  readonly folder: string;
  readonly path: string;
  readonly hash: string;
  readonly blockSize: number;
  readonly first: number;
  readonly count: number;
  /** 1: per-block sums. More: one digest per `group` consecutive blocks, to find unchanged regions cheaply. */
  readonly group: number;
}

/**
 * Block sums for request `id`: per block a 4-byte big-endian weak sum
 * (librsync rollsum) and `LIMITS.strongBytes` of SHA-256; with `group` > 1,
 * no weak sums and per group the first `LIMITS.strongBytes` of the SHA-256 of
 * its blocks' strong hashes. Fewer than asked at end of file or when the
 * responder caps its work (the requester asks again).
 */
export interface SumsMessage {
  readonly type: 'sums';
  readonly id: number;
  /** Length of the whole file. */
  readonly fileSize: number;
  readonly blockSize: number;
  readonly first: number;
  readonly group: number;
  readonly weak: Uint8Array;
  readonly strong: Uint8Array;
}

/** Why request `id` cannot be answered. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly id: number;
  /** 'not-found': no such file; 'changed': the file no longer has that hash; 'io': read failed. */
  readonly code: 'not-found' | 'changed' | 'io';
  readonly message: string;
}

export interface PingMessage {
  readonly type: 'ping';
}

export interface PongMessage {
  readonly type: 'pong';
}

/** The sender is closing the connection, and why. */
export interface CloseMessage {
  readonly type: 'close';
  readonly reason: string;
}

/**
 * Enrolment (ALPN `wizard-enroll/1`), first message, inviter to joiner: the
 * CA certificate, which the joiner checks against the pin its code carries
 * and against the inviter's TLS certificate before it sends anything.
 */
export interface EnrolOfferMessage {
  readonly type: 'enrol-offer';
  readonly ca: string;
}

/** Enrolment, joiner to inviter: which invite, the key to certify, and the proof that the joiner holds the invite's secret. */
export interface EnrolRequestMessage {
  readonly type: 'enrol-request';
  /** The invite's public handle (32 hex). */
  readonly invite: string;
  /** The new node's public key, SPKI DER (ECDSA P-256). */
  readonly key: Uint8Array;
  readonly name: string;
  /** Where the new node accepts peers (0: nowhere). */
  readonly listenPort: number;
  /** HMAC-SHA256 keyed by the secret over this TLS session's exporter value and the fields above (docs/PROTOCOL.md 7). */
  readonly proof: Uint8Array;
}

/** A peer as an introduction names it, with the folders the two are to share. */
export interface IntroducedPeer {
  readonly id: string;
  readonly name: string;
  /** host:port, or '' when it only dials out. */
  readonly address: string;
  readonly folders: readonly string[];
}

/** Enrolment, inviter to joiner: the signed certificate, who the inviter is, the folders shared, and the peers it is introduced to. */
export interface EnrolGrantMessage {
  readonly type: 'enrol-grant';
  readonly cert: string;
  readonly id: string;
  readonly name: string;
  readonly folders: readonly string[];
  readonly peers: readonly IntroducedPeer[];
}

/**
 * The newest CA-signed revocation list the sender holds: `list` is its
 * canonical encoding (trust/revocation-list.ts), `signature` the CA key's
 * signature over it. Sent after the Hello, and again whenever a newer one arrives.
 */
export interface RevocationsMessage {
  readonly type: 'revocations';
  readonly list: Uint8Array;
  readonly signature: Uint8Array;
}

/** The inviter tells a peer that a node joined by invite and is to share `peer.folders` with it. */
export interface IntroduceMessage {
  readonly type: 'introduce';
  readonly peer: IntroducedPeer;
}

export type Message =
  | Hello
  | EnrolOfferMessage
  | EnrolRequestMessage
  | EnrolGrantMessage
  | RevocationsMessage
  | IntroduceMessage
  | IndexMessage
  | RequestMessage
  | ResponseMessage
  | FilesRequestMessage
  | FilesMessage
  | SumsRequestMessage
  | SumsMessage
  | ErrorMessage
  | PingMessage
  | PongMessage
  | CloseMessage;

export type MessageType = Message['type'];
