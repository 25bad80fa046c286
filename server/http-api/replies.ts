/** The REST API's failure answers, in Rocket.Chat's shapes. */
import type { ServerResponse } from 'node:http';
import type { WireError } from '../../protocol/errors.js';
import { sendJson } from '../transport/http-routes.js';

/** Rocket.Chat's text for a request without valid credentials. */
export const NOT_LOGGED_IN = 'You must be logged in to do this.';

/** 401 for a request without valid `X-User-Id` + `X-Auth-Token`. */
export function sendUnauthorized(res: ServerResponse): void {
  sendJson(res, 401, { success: false, status: 'error', message: NOT_LOGGED_IN });
}

/**
 * Rocket.Chat's `API.v1.failure` of a method error: `{success:false, error:'reason [code]',
 * errorType, details}`; 400, except a rate limit (429) and the server's own failures (500, 503).
 */
export function sendFailure(res: ServerResponse, wire: WireError): void {
  const status = wire.error === 'too-many-requests' ? 429 : wire.error === 500 || wire.error === 503 ? wire.error : 400;
  sendJson(res, status, { success: false, error: wire.message, errorType: wire.error, details: wire.details });
}
