/**
 * Type guards that validate decoded messages, with Meteor's reasons for each violation.
 * Validation happens before dispatch: nothing downstream casts.
 */
import type { ClientMessage, ServerMessage } from './messages.js';
import { PROTOCOL_ERRORS, isWireError } from './errors.js';

/** The outcome of validating one inbound frame. */
export type Classified<M> = { ok: true; message: M } | { ok: false; reason: string };

/** A plain object (not null, not an array): what a decoded message, its params and options must be. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/**
 * Validate a decoded client→server message. `connect` with a bad version list is *valid* here:
 * the session answers it with `failed`, as Meteor does.
 */
export function classifyClientMessage(value: unknown): Classified<ClientMessage> {
  if (!isRecord(value) || typeof value.msg !== 'string') return bad(PROTOCOL_ERRORS.badRequest.reason);
  switch (value.msg) {
    case 'connect': {
      const support = isStringArray(value.support) ? value.support : [];
      const version = typeof value.version === 'string' ? value.version : '';
      return { ok: true, message: { msg: 'connect', version, support } };
    }
    case 'method': {
      if (typeof value.id !== 'string' || typeof value.method !== 'string'
        || ('params' in value && value.params !== undefined && !Array.isArray(value.params))
        || ('randomSeed' in value && value.randomSeed !== undefined && typeof value.randomSeed !== 'string')) {
        return bad(PROTOCOL_ERRORS.malformedMethod.reason);
      }
      const params = Array.isArray(value.params) ? value.params : [];
      const message: ClientMessage = { msg: 'method', method: value.method, params, id: value.id };
      if (typeof value.randomSeed === 'string') message.randomSeed = value.randomSeed;
      return { ok: true, message };
    }
    case 'sub': {
      if (typeof value.id !== 'string' || typeof value.name !== 'string'
        || ('params' in value && value.params !== undefined && !Array.isArray(value.params))) {
        return bad(PROTOCOL_ERRORS.malformedSubscription.reason);
      }
      return { ok: true, message: { msg: 'sub', id: value.id, name: value.name, params: Array.isArray(value.params) ? value.params : [] } };
    }
    case 'unsub':
      if (typeof value.id !== 'string') return bad(PROTOCOL_ERRORS.malformedSubscription.reason);
      return { ok: true, message: { msg: 'unsub', id: value.id } };
    case 'ping':
    case 'pong':
      // Meteor echoes any truthy id; we accept strings only, anything else is ignored.
      return { ok: true, message: typeof value.id === 'string' ? { msg: value.msg, id: value.id } : { msg: value.msg } };
    case 'disconnect':
      return { ok: true, message: { msg: 'disconnect' } };
    default:
      return bad(PROTOCOL_ERRORS.badRequest.reason);
  }
}

function isFieldsOrAbsent(value: unknown): boolean {
  return value === undefined || isRecord(value);
}

/** Validate a decoded server→client message (used by the client). */
export function classifyServerMessage(value: unknown): Classified<ServerMessage> {
  if (!isRecord(value) || typeof value.msg !== 'string') return bad('not a DDP message');
  const v = value;
  const ok = (): Classified<ServerMessage> => ({ ok: true, message: v as unknown as ServerMessage });
  switch (v.msg) {
    case 'connected':
      return typeof v.session === 'string' ? ok() : bad('connected without session');
    case 'failed':
      return typeof v.version === 'string' ? ok() : bad('failed without version');
    case 'ping':
    case 'pong':
      return v.id === undefined || typeof v.id === 'string' ? ok() : bad(`${v.msg} with a non-string id`);
    case 'result':
      if (typeof v.id !== 'string') return bad('result without id');
      if (v.error !== undefined && !isWireError(v.error)) return bad('result with a malformed error');
      return ok();
    case 'updated':
      return isStringArray(v.methods) ? ok() : bad('updated without methods');
    case 'added':
    case 'changed':
    case 'removed':
    case 'addedBefore':
    case 'movedBefore':
      if (typeof v.collection !== 'string' || typeof v.id !== 'string') return bad(`${v.msg} without collection or id`);
      if (!isFieldsOrAbsent(v.fields)) return bad(`${v.msg} with non-object fields`);
      if (v.cleared !== undefined && !isStringArray(v.cleared)) return bad('changed with bad cleared');
      return ok();
    case 'ready':
      return isStringArray(v.subs) ? ok() : bad('ready without subs');
    case 'nosub':
      if (typeof v.id !== 'string') return bad('nosub without id');
      if (v.error !== undefined && !isWireError(v.error)) return bad('nosub with a malformed error');
      return ok();
    case 'error':
      return typeof v.reason === 'string' ? ok() : bad('error without reason');
    default:
      return bad(`unknown message '${v.msg}'`);
  }
}
