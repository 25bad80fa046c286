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
import { decode } from '../../protocol/ejson.js';
import { classifyClientMessage, isRecord } from '../../protocol/validate.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer } from '../services/services.js';
import { sendJson } from '../transport/http-routes.js';
import { HttpRequestError } from './body.js';
import { HttpApi } from './context.js';
import { installLoginRoute } from './login-route.js';
import { installAccountRoutes } from './account-routes.js';
import { failureStatus, sendFailure } from './replies.js';
import { errorResultFrame, quoteId, resultFrame } from '../calls/result-frame.js';

export function installHttpApi(server: DdpServer, container: ServiceContainer): void {
  const api = new HttpApi(server, container);
  installLoginRoute(api);
  installAccountRoutes(api);

  const methodCall = (anonymous: boolean) => async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>): Promise<void> => {
    const caller = anonymous ? api.caller(req) : await api.authenticated(req, res);
    if (caller === null) return;
    const body = await api.body(req);
    if (typeof body.message !== 'string') throw new HttpRequestError(400, 'The body needs "message": the EJSON text of a DDP method message');
    let decoded: unknown;
    try {
      decoded = decode(body.message);
    } catch (err) {
      throw new HttpRequestError(400, `"message" is not valid EJSON: ${(err as Error).message}`);
    }
    // Checked as a DDP frame is; over HTTP the id may be left out (the answer then says 'http').
    const classified = classifyClientMessage(isRecord(decoded) && decoded.id === undefined ? { ...decoded, id: 'http' } : decoded);
    if (!classified.ok || classified.message.msg !== 'method') {
      throw new HttpRequestError(400, '"message" must be a DDP method message: {msg:"method", method, params, id}');
    }
    const message = classified.message;
    if (message.method !== params.method) throw new HttpRequestError(400, `The message calls '${message.method}' but the URL names '${params.method ?? ''}'`);
    const quotedId = quoteId(message.id);
    try {
      const result = await api.invoke(caller, message.method, message.params);
      sendJson(res, 200, { message: resultFrame(quotedId, result), success: true });
    } catch (err) {
      const w = api.wire(err, { method: message.method, userId: caller.userId });
      // A 2FA refusal and a rate limit are answered as Rocket.Chat's REST failures; any other
      // error travels inside the DDP result, as Rocket.Chat's method.call does.
      const status = failureStatus(w, 'method.call');
      if (status === 200) sendJson(res, 200, { message: errorResultFrame(quotedId, w), success: true });
      else sendFailure(res, status, w);
    }
  };
  api.route('POST', '/api/v1/method.call/:method', methodCall(false));
  api.route('POST', '/api/v1/method.callAnon/:method', methodCall(true));
}
