/**
 * The `result` message of a method call as EJSON text, built in one place: the session writes
 * it to the socket, HTTP's `method.call` answers it inside `message`. Built as text because it
 * is the hottest message: ids are nearly always plain, and quoting those needs no escaping.
 */
import { encode } from '../../protocol/ejson.js';
import type { WireError } from '../../protocol/errors.js';

const PLAIN_ID = /^[A-Za-z0-9_.:-]*$/;

/** A method id as JSON text. */
export function quoteId(id: string): string {
  return PLAIN_ID.test(id) ? `"${id}"` : JSON.stringify(id);
}

/**
 * `{msg:'result', id, result}` for a quoted id; without `result` when it is undefined, as Meteor
 * sends it (`0`, `false`, `''` and `null` are sent as they are). Throws when EJSON cannot carry
 * the result (a BigInt, a cycle).
 */
export function resultFrame(quotedId: string, result: unknown): string {
  if (result === undefined) return `{"msg":"result","id":${quotedId}}`;
  return `{"msg":"result","id":${quotedId},"result":${encode(result)}}`;
}

/** `{msg:'result', id, error}` for a quoted id. */
export function errorResultFrame(quotedId: string, error: WireError): string {
  return `{"msg":"result","id":${quotedId},"error":${encode(error)}}`;
}
