/**
 * The HTTP API in Rocket.Chat's REST shapes, on the WebSocket's port, through the same
 * dispatcher (rate limits, guard, parameter checks, audit) as DDP calls.
 *
 * - `POST /api/v1/login` → `{status:'success', data:{userId, authToken, me}, success:true}` (login-route.ts)
 * - `POST /api/v1/method.call/:method` (authenticated) and `/api/v1/method.callAnon/:method`
 *   with `{message: <EJSON DDP method message>}` → `{message: <EJSON DDP result>, success:true}`
 * - `GET /api/v1/me`, `/api/v1/logout`, `POST /api/v1/users.2fa.*` (account-routes.ts)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decode, encode } from '../../protocol/ejson.js';
import { isTwoFactorErrorCode } from '../../protocol/two-factor.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer } from '../services/services.js';
import { sendJson } from '../transport/http-routes.js';
import { HttpRequestError } from './body.js';
import { HttpApi } from './context.js';
import { installLoginRoute } from './login-route.js';
import { installAccountRoutes } from './account-routes.js';
import { sendFailure } from './replies.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function installHttpApi(server: DdpServer, container: ServiceContainer): void {
  const api = new HttpApi(server, container);
  installLoginRoute(api);
  installAccountRoutes(api);

  const methodCall = (anonymous: boolean) => async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>): Promise<void> => {
    const caller = anonymous ? api.caller(req) : await api.authenticated(req, res);
    if (caller === null) return;
    const body = await api.body(req);
    if (typeof body.message !== 'string') throw new HttpRequestError(400, 'The body needs "message": the EJSON text of a DDP method message');
    let message: unknown;
    try {
      message = decode(body.message);
    } catch (err) {
      throw new HttpRequestError(400, `"message" is not valid EJSON: ${(err as Error).message}`);
    }
    if (!isRecord(message) || message.msg !== 'method' || typeof message.method !== 'string' || (message.params !== undefined && !Array.isArray(message.params))
      || (message.id !== undefined && typeof message.id !== 'string')) {
      throw new HttpRequestError(400, '"message" must be a DDP method message: {msg:"method", method, params, id}');
    }
    if (message.method !== params.method) throw new HttpRequestError(400, `The message calls '${message.method}' but the URL names '${params.method ?? ''}'`);
    const id = typeof message.id === 'string' ? message.id : 'http';
    try {
      const result = await api.invoke(caller, message.method, Array.isArray(message.params) ? message.params : []);
      const out: Record<string, unknown> = { msg: 'result', id };
      if (result !== undefined) out.result = result;
      sendJson(res, 200, { message: encode(out), success: true });
    } catch (err) {
      const w = api.wire(err, { method: message.method, userId: caller.userId });
      // A 2FA refusal and a rate limit are answered as Rocket.Chat's REST failures; any other
      // error travels inside the DDP result, as Rocket.Chat's method.call does.
      if (isTwoFactorErrorCode(w.error) || w.error === 'too-many-requests') sendFailure(res, w);
      else sendJson(res, 200, { message: encode({ msg: 'result', id, error: w }), success: true });
    }
  };
  api.route('POST', '/api/v1/method.call/:method', methodCall(false));
  api.route('POST', '/api/v1/method.callAnon/:method', methodCall(true));
}
