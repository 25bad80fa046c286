/**
 * Every DDP message kind, as TypeScript types. The reference is Meteor's `packages/ddp/DDP.md`.
 */
import type { WireError } from './errors.js';

/** Any EJSON-compatible value. Decoded values may contain `Date`, `Uint8Array`, `RegExp` and custom types. */
export type EJSONValue = unknown;

/** A document's fields: top-level names to EJSON values. */
export type Fields = Record<string, EJSONValue>;

// ---- client → server ----

export interface ConnectMessage { msg: 'connect'; version: string; support: string[]; session?: string }
export interface PingMessage { msg: 'ping'; id?: string }
export interface PongMessage { msg: 'pong'; id?: string }
export interface MethodMessage { msg: 'method'; method: string; params: EJSONValue[]; id: string; randomSeed?: string }
export interface SubMessage { msg: 'sub'; id: string; name: string; params: EJSONValue[] }
export interface UnsubMessage { msg: 'unsub'; id: string }
/** Not in DDP.md, but sent by some clients to end a session at once. */
export interface DisconnectMessage { msg: 'disconnect' }

export type ClientMessage =
  | ConnectMessage | PingMessage | PongMessage | MethodMessage | SubMessage | UnsubMessage | DisconnectMessage;

// ---- server → client ----

export interface ConnectedMessage { msg: 'connected'; session: string }
export interface FailedMessage { msg: 'failed'; version: string }
export interface ResultMessage { msg: 'result'; id: string; result?: EJSONValue; error?: WireError }
export interface UpdatedMessage { msg: 'updated'; methods: string[] }
export interface AddedMessage { msg: 'added'; collection: string; id: string; fields?: Fields }
export interface ChangedMessage { msg: 'changed'; collection: string; id: string; fields?: Fields; cleared?: string[] }
export interface RemovedMessage { msg: 'removed'; collection: string; id: string }
export interface ReadyMessage { msg: 'ready'; subs: string[] }
export interface NosubMessage { msg: 'nosub'; id: string; error?: WireError }
export interface AddedBeforeMessage { msg: 'addedBefore'; collection: string; id: string; fields?: Fields; before: string | null }
export interface MovedBeforeMessage { msg: 'movedBefore'; collection: string; id: string; before: string | null }
/** A protocol-level error: the frame could not be understood. The connection stays open. */
export interface ErrorMessage { msg: 'error'; reason: string; offendingMessage?: EJSONValue }

export type DataMessage = AddedMessage | ChangedMessage | RemovedMessage | AddedBeforeMessage | MovedBeforeMessage;

export type ServerMessage =
  | ConnectedMessage | FailedMessage | PingMessage | PongMessage | ResultMessage | UpdatedMessage
  | DataMessage | ReadyMessage | NosubMessage | ErrorMessage;

/** The msg-less greeting Meteor's server sends when a socket opens. Never `msg: 'server_id'`. */
export const SERVER_ID_GREETING = '{"server_id":"0"}';

/**
 * The heartbeat messages without an id, exactly as `encode` writes them and as Meteor's client
 * and server send them (test/server/heartbeat.test.ts checks both): most of what an idle
 * connection ever sends or receives.
 */
export const PING_TEXT = '{"msg":"ping"}';
export const PONG_TEXT = '{"msg":"pong"}';
