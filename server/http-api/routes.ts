/**
 * The HTTP API in Rocket.Chat's REST shapes, on the WebSocket's port, through the same
 * dispatcher (rate limits, guard, parameter checks, audit) as DDP calls.
 *
 * - `POST /api/v1/login` → `{status:'success', data:{userId, authToken}}`
 * - `POST /api/v1/method.call/:method` (authenticated) and `/api/v1/method.callAnon/:method`
 *   with `{message: <EJSON DDP method message>}` → `{message: <EJSON DDP result>, success:true}`
 * - `POST /api/v1/users.2fa.sendEmailCode` with `{emailOrUsername}`
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decode, encode } from '../../protocol/ejson.js';
import { isTwoFactorErrorCode } from '../../protocol/two-factor.js';
import type { WireError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp-server.js';
import type { ServiceContainer } from '../services.js';
import { sendJson } from '../transport/http-routes.js';
import { toWireError } from '../errors.js';
import { HttpCaller } from './http-caller.js';
import { HttpRequestError, readJsonBody } from './body.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Rocket.Chat's shape of a 2FA refusal on a REST call. */
function twoFactorFailure(res: ServerResponse, status: number, wire: WireError): void {
  sendJson(res, status, { success: false, error: wire.message, errorType: wire.error, details: wire.details });
}

export function installHttpApi(server: DdpServer, container: ServiceContainer): void {
  const limit = server.options.maxBodyBytes;
  const wire = (err: unknown, context: Record<string, unknown>): WireError => toWireError(err, server.logger, { transport: 'http', ...context });
  const invoke = async (caller: HttpCaller, name: string, params: unknown[]): Promise<unknown> => server.dispatcher.invoke({ name, params, caller });

  const guarded = (handler: (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse, params: Record<string, string>): Promise<void> => {
      try {
        await handler(req, res, params);
      } catch (err) {
        if (err instanceof HttpRequestError) {
          sendJson(res, err.status, { success: false, error: err.message });
          return;
        }
        throw err;
      }
    };

  server.route('POST', '/api/v1/login', guarded(async (req, res) => {
    const body = await readJsonBody(req, limit);
    const caller = new HttpCaller(req, server.options.httpForwardedCount);
    const user = typeof body.user === 'string' ? body.user
      : typeof body.username === 'string' ? { username: body.username }
        : typeof body.email === 'string' ? { email: body.email } : undefined;
    if (user === undefined || (typeof body.password !== 'string' && !isRecord(body.password))) {
      throw new HttpRequestError(400, 'Give user (or username or email) and password');
    }
    if (body.code !== undefined && typeof body.code !== 'string') throw new HttpRequestError(400, '"code" must be a string');
    const code = typeof body.code === 'string' && body.code !== '' ? body.code : caller.transportTwoFactor?.twoFactorCode;
    // `x-2fa-method` counts with a code from the body too, so a client can pick another factor.
    const methodHeader = req.headers['x-2fa-method'];
    const method = caller.transportTwoFactor?.twoFactorMethod || (typeof methodHeader === 'string' ? methodHeader : undefined);
    const loginArg = { user, password: body.password };
    const request = code === undefined ? loginArg : { totp: { login: loginArg, code, ...(method ? { method } : {}) } };
    try {
      const result = (await invoke(caller, 'login', [request])) as { id: string; token: string };
      sendJson(res, 200, { status: 'success', data: { userId: result.id, authToken: result.token } });
    } catch (err) {
      const w = wire(err, { route: 'login' });
      if (w.error === 'too-many-requests') sendJson(res, 429, { status: 'error', error: w.error, message: w.reason, details: w.details });
      // Rocket.Chat answers a blocked login as any refused login: 401, with its error code.
      else if (isTwoFactorErrorCode(w.error) || w.error === 'error-login-blocked-for-user' || w.error === 'error-login-blocked-for-ip') sendJson(res, 401, { status: 'error', error: w.error, message: w.reason, details: w.details });
      else if (w.error === 403) sendJson(res, 401, { status: 'error', error: 'Unauthorized', message: 'Unauthorized' });
      else sendJson(res, w.error === 500 || w.error === 503 ? w.error : 400, { status: 'error', error: w.error, message: w.reason });
    }
  }));

  const methodCall = (anonymous: boolean) => guarded(async (req, res, params) => {
    const services = await container.get();
    const caller = new HttpCaller(req, server.options.httpForwardedCount);
    if (!anonymous && !(await caller.authenticate(services, req))) {
      sendJson(res, 401, { status: 'error', message: 'You must be logged in to do this.' });
      return;
    }
    const body = await readJsonBody(req, limit);
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
      const result = await invoke(caller, message.method, Array.isArray(message.params) ? message.params : []);
      const out: Record<string, unknown> = { msg: 'result', id };
      if (result !== undefined) out.result = result;
      sendJson(res, 200, { message: encode(out), success: true });
    } catch (err) {
      const w = wire(err, { method: message.method, userId: caller.userId });
      if (isTwoFactorErrorCode(w.error)) {
        twoFactorFailure(res, 400, w);
        return;
      }
      if (w.error === 'too-many-requests') {
        sendJson(res, 429, { success: false, error: w.message, errorType: w.error, details: w.details });
        return;
      }
      sendJson(res, 200, { message: encode({ msg: 'result', id, error: w }), success: true });
    }
  });
  server.route('POST', '/api/v1/method.call/:method', methodCall(false));
  server.route('POST', '/api/v1/method.callAnon/:method', methodCall(true));

  server.route('POST', '/api/v1/users.2fa.sendEmailCode', guarded(async (req, res) => {
    const body = await readJsonBody(req, limit);
    if (typeof body.emailOrUsername !== 'string' || body.emailOrUsername === '') throw new HttpRequestError(400, 'Give emailOrUsername');
    const caller = new HttpCaller(req, server.options.httpForwardedCount);
    try {
      await invoke(caller, '2fa:sendEmailCode', [{ emailOrUsername: body.emailOrUsername }]);
      sendJson(res, 200, { success: true });
    } catch (err) {
      const w = wire(err, { route: 'users.2fa.sendEmailCode' });
      sendJson(res, w.error === 'too-many-requests' ? 429 : w.error === 500 || w.error === 503 ? w.error : 400, { success: false, error: w.message, errorType: w.error, details: w.details });
    }
  }));
}
