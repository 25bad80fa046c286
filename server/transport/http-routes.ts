/**
 * Plain HTTP on the WebSocket's port: a tiny exact-path router. `/sockjs/info` is built in;
 * higher layers (the REST API, health checks, the account page) add routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sockJsInfo } from './sockjs.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

/** Send a JSON body with a status. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export class HttpRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly onError: (err: unknown, req: IncomingMessage) => void, sockjs: boolean) {
    if (sockjs) {
      this.add('GET', '/sockjs/info', (_req, res) => sendJson(res, 200, sockJsInfo(), { 'access-control-allow-origin': '*' }));
    }
  }

  /** Routes tried after every other one: defaults an application's own routes replace. */
  private readonly fallbacks: Route[] = [];

  /**
   * Add a route; `:name` segments capture a parameter (e.g. `/api/v1/method.call/:method`).
   * With `fallback`, it answers only when no other route (added before or after) has the path.
   */
  add(method: string, path: string, handler: RouteHandler, options: { fallback?: boolean } = {}): void {
    const keys: string[] = [];
    const source = path.split('/').map((segment) => {
      if (segment.startsWith(':')) {
        keys.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('/');
    (options.fallback ? this.fallbacks : this.routes).push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), keys, handler });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const own = this.dispatch(this.routes, path, req, res);
    if (own === 'handled') return;
    // A fallback stands in only for a path no route of the application has, whatever the method.
    const fallback = own === 'none' ? this.dispatch(this.fallbacks, path, req, res) : own;
    if (fallback === 'handled') return;
    const pathMatched = fallback === 'path';
    if (pathMatched) sendJson(res, 405, { success: false, error: `Method ${req.method ?? ''} not allowed on ${path}` });
    else if (path === '/websocket' || path === '/websocket/') sendJson(res, 426, { success: false, error: 'This endpoint speaks DDP over WebSocket: connect with a WebSocket client' }, { upgrade: 'websocket' });
    else sendJson(res, 404, { success: false, error: `Not found: ${path}` });
  }

  /** Runs the first route of `routes` for this path and method; says whether one matched the path. */
  private dispatch(routes: readonly Route[], path: string, req: IncomingMessage, res: ServerResponse): 'handled' | 'path' | 'none' {
    let pathMatched = false;
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const params: Record<string, string> = {};
      try {
        route.keys.forEach((key, i) => {
          params[key] = decodeURIComponent(m[i + 1]!);
        });
      } catch {
        sendJson(res, 400, { success: false, error: `Bad percent-encoding in ${path}` });
        return 'handled';
      }
      Promise.resolve()
        .then(() => route.handler(req, res, params))
        .catch((err: unknown) => {
          this.onError(err, req);
          if (!res.headersSent) sendJson(res, 500, { success: false, error: 'Internal server error' });
          else res.destroy();
        });
      return 'handled';
    }
    return pathMatched ? 'path' : 'none';
  }
}
