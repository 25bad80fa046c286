/**
 * What every route of the REST API shares: the server, its services, the body limit, and the
 * one way into a method (the dispatcher, so rate limits, the 2FA guard, parameter checks and
 * audit apply exactly as over DDP).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WireError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer } from '../services/services.js';
import { toWireError } from '../calls/wire-errors.js';
import { sendJson } from '../transport/http-routes.js';
import { HttpCaller } from './http-caller.js';
import { HttpRequestError, readJsonBody } from './body.js';
import { sendUnauthorized } from './replies.js';

type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>;

export class HttpApi {
  constructor(readonly server: DdpServer, readonly container: ServiceContainer) {}

  /** Add a route; a {@link HttpRequestError} it throws is answered `{success:false, error}` with its status. */
  route(method: string, path: string, handler: Handler): void {
    this.server.route(method, path, async (req, res, params) => {
      try {
        await handler(req, res, params);
      } catch (err) {
        if (!(err instanceof HttpRequestError)) throw err;
        sendJson(res, err.status, { success: false, error: err.message });
      }
    });
  }

  /** The request's JSON object body, at most `maxBodyBytes`. */
  body(req: IncomingMessage): Promise<Record<string, unknown>> {
    return readJsonBody(req, this.server.options.maxBodyBytes);
  }

  /** The caller behind a request, not yet authenticated. */
  caller(req: IncomingMessage): HttpCaller {
    return new HttpCaller(req, this.server.options.httpForwardedCount);
  }

  /**
   * The caller of a request with valid `X-User-Id` + `X-Auth-Token` (a session token or a
   * personal access token); otherwise answers 401 and returns null.
   */
  async authenticated(req: IncomingMessage, res: ServerResponse): Promise<HttpCaller | null> {
    const caller = this.caller(req);
    if (await caller.authenticate(await this.container.get(), req)) return caller;
    sendUnauthorized(res);
    return null;
  }

  /** Call a method through the dispatcher, as `caller`. */
  async invoke(caller: HttpCaller, name: string, params: unknown[]): Promise<unknown> {
    return this.server.dispatcher.invoke({ name, params, caller });
  }

  /** What the client may see of an error (anything not client-safe is logged and becomes 500). */
  wire(err: unknown, context: Record<string, unknown>): WireError {
    return toWireError(err, this.server.logger, { transport: 'http', ...context });
  }
}
