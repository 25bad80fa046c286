/** The REST API's failure answers, in Rocket.Chat's shapes, and the one error→status mapping. */
import type { ServerResponse } from 'node:http';
import { METHOD_ERRORS, type WireError } from '../../protocol/errors.js';
import { isTwoFactorErrorCode } from '../../protocol/two-factor.js';
import { sendJson } from '../transport/http-routes.js';

/** Rocket.Chat's text for a request without valid credentials. */
export const NOT_LOGGED_IN = 'You must be logged in to do this.';

/** 401 for a request without valid `X-User-Id` + `X-Auth-Token`. */
export function sendUnauthorized(res: ServerResponse): void {
  sendJson(res, 401, { success: false, status: 'error', message: NOT_LOGGED_IN });
}

/** Which kind of route answers a method error: each answers some errors differently. */
export type FailureRoute = 'login' | 'method.call' | 'account';

/**
 * The HTTP status of a method error, as Rocket.Chat answers it: 429 for a rate limit; on
 * `method.call`, 400 for a two-factor refusal and 200 for any other error (which then travels
 * inside the DDP result); on `login`, 401 for a two-factor refusal, a blocked login and any 403
 * (a wrong password, an expired token); otherwise the server's own failures (500, 503) as they
 * are, and 400.
 */
export function failureStatus(wire: WireError, route: FailureRoute): number {
  if (wire.error === 'too-many-requests') return 429;
  if (route === 'method.call') return isTwoFactorErrorCode(wire.error) ? 400 : 200;
  if (route === 'login' && (isTwoFactorErrorCode(wire.error) || wire.error === 403
    || wire.error === METHOD_ERRORS.loginBlockedForUser.error || wire.error === METHOD_ERRORS.loginBlockedForIp.error)) return 401;
  return wire.error === 500 || wire.error === 503 ? wire.error : 400;
}

/** Rocket.Chat's `API.v1.failure` of a method error: `{success:false, error:'reason [code]', errorType, details}`. */
export function sendFailure(res: ServerResponse, status: number, wire: WireError): void {
  sendJson(res, status, { success: false, error: wire.message, errorType: wire.error, details: wire.details });
}
