/**
 * The account endpoints a Rocket.Chat client touches right after login, in Rocket.Chat's shapes:
 * - `GET /api/v1/me` → the user's own document and `success: true`;
 * - `POST` (or `GET`, as Rocket.Chat still allows) `/api/v1/logout` → the `logout` method;
 * - `POST /api/v1/users.2fa.enableEmail`, `users.2fa.disableEmail` → the built-in methods, whose
 *   second factor comes in `x-2fa-code` / `x-2fa-method`;
 * - `POST /api/v1/users.2fa.sendEmailCode` with `{emailOrUsername}`.
 * Every method runs through the dispatcher, as over DDP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../transport/http-routes.js';
import type { HttpApi } from './context.js';
import type { HttpCaller } from './http-caller.js';
import { HttpRequestError } from './body.js';
import { meDocument } from './me.js';
import { failureStatus, sendFailure, sendUnauthorized } from './replies.js';

/** Rocket.Chat's answer to a logout. */
const LOGGED_OUT = Object.freeze({ status: 'success', data: { message: "You've been logged out!" }, success: true });

export function installAccountRoutes(api: HttpApi): void {
  /** Run `method` as the caller; answer `success` on success, Rocket.Chat's failure otherwise. */
  const callThenAnswer = async (res: ServerResponse, caller: HttpCaller, method: string, params: unknown[], success: unknown): Promise<void> => {
    try {
      await api.invoke(caller, method, params);
    } catch (err) {
      const wire = api.wire(err, { method, userId: caller.userId });
      sendFailure(res, failureStatus(wire, 'account'), wire);
      return;
    }
    sendJson(res, 200, success);
  };

  api.route('GET', '/api/v1/me', async (req, res) => {
    const caller = await api.authenticated(req, res);
    if (caller === null) return;
    const me = caller.userId === null ? null : await meDocument(await api.container.get(), caller.userId);
    if (me === null) sendUnauthorized(res);
    else sendJson(res, 200, { ...me, success: true });
  });

  const logout = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const caller = await api.authenticated(req, res);
    if (caller !== null) await callThenAnswer(res, caller, 'logout', [], LOGGED_OUT);
  };
  api.route('POST', '/api/v1/logout', logout);
  api.route('GET', '/api/v1/logout', logout);

  for (const [path, method] of [['/api/v1/users.2fa.enableEmail', '2fa:enableEmail'], ['/api/v1/users.2fa.disableEmail', '2fa:disableEmail']] as const) {
    api.route('POST', path, async (req, res) => {
      const caller = await api.authenticated(req, res);
      if (caller !== null) await callThenAnswer(res, caller, method, [], { success: true });
    });
  }

  api.route('POST', '/api/v1/users.2fa.sendEmailCode', async (req, res) => {
    const body = await api.body(req);
    if (typeof body.emailOrUsername !== 'string' || body.emailOrUsername === '') throw new HttpRequestError(400, 'Give emailOrUsername');
    await callThenAnswer(res, api.caller(req), '2fa:sendEmailCode', [{ emailOrUsername: body.emailOrUsername }], { success: true });
  });
}
