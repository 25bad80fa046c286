/**
 * The account-security page (SPEC §5c): the browser bundle in `dist/web/` (built from `web/` by
 * `scripts/build-web.mjs`) served at `/account/` under a strict Content-Security-Policy, and the
 * guarded demo method the page's "try it" button calls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { DdpServer } from '../ddp/ddp-server.js';
import { sendJson } from '../transport/http-routes.js';
import { StaticFiles } from './static-files.js';

/** Where the page lives. */
export const ACCOUNT_PAGE_PATH = '/account/';

/**
 * Same origin only, no inline script or style, images only from the page or `data:` (the QR
 * code), WebSocket to any host (the page connects back to the host it was loaded from), and
 * no framing (clickjacking).
 */
export const ACCOUNT_PAGE_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Headers of every response of the page, errors included. */
export const ACCOUNT_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': ACCOUNT_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});

/** The files of `dist/web/` that are served, and nothing else. */
const FILE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
});

/** The name of the guarded demo method. */
export const DEMO_METHOD = 'demo.guarded';

/** `dist/web/`, next to `dist/server/` that this module is compiled into. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** Options of {@link installAccountPage}. */
export interface AccountPageOptions {
  /** The folder of the built page. @default DEFAULT_WEB_ROOT */
  webRoot?: string;
}

/**
 * Serve the page at `/account/` (GET and HEAD) and register `demo.guarded`: a method that
 * needs a logged-in user and the second factor, and answers `{ok: true, at: <server time>}`.
 */
export function installAccountPage(server: DdpServer, options: AccountPageOptions = {}): void {
  const files = new StaticFiles(options.webRoot ?? DEFAULT_WEB_ROOT, FILE_TYPES);
  const serve = async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    if (!files.has(name)) {
      sendJson(res, 404, { success: false, error: `Not found: ${ACCOUNT_PAGE_PATH}${name}` }, ACCOUNT_PAGE_HEADERS);
      return;
    }
    let loaded;
    try {
      loaded = await files.load();
    } catch (err) {
      server.logger.error({ folder: files.folder, err: String(err) }, 'the account page is not built');
      sendText(res, 503, 'The account page is not built: run `npm run build` (it bundles web/ into dist/web/).');
      return;
    }
    const file = loaded.get(name)!;
    const headers = { ...ACCOUNT_PAGE_HEADERS, 'content-type': file.contentType, etag: file.etag, 'cache-control': 'no-cache' };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
  const index = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const [path = '', query] = (req.url ?? '').split('?', 2);
    // Relative URLs in index.html (app.js, app.css) need the trailing slash.
    if (!path.endsWith('/')) {
      res.writeHead(308, { ...ACCOUNT_PAGE_HEADERS, location: ACCOUNT_PAGE_PATH + (query === undefined ? '' : `?${query}`), 'content-length': 0 });
      res.end();
      return;
    }
    await serve(req, res, 'index.html');
  };
  for (const method of ['GET', 'HEAD']) {
    server.route(method, '/account', index);
    server.route(method, '/account/:file', (req, res, params) => serve(req, res, params.file ?? ''));
    // Someone opening http://host:port/ should find the page, not a 404; an application's own
    // `/` route takes precedence (a fallback answers only for paths nobody else serves).
    server.http.add(method, '/', (_req, res) => {
      res.writeHead(302, { location: ACCOUNT_PAGE_PATH, 'content-length': 0, 'cache-control': 'no-store' });
      res.end();
    }, { fallback: true });
  }

  server.methods({
    [DEMO_METHOD]: {
      requireUser: true,
      twoFactor: true,
      params: [],
      handler() {
        return { ok: true, at: new Date(server.clock.now()) };
      },
    },
  });
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...ACCOUNT_PAGE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
