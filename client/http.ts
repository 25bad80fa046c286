/**
 * The client library's HTTP mode: the same methods, guard and tokens as over DDP, through
 * ddp-guard's REST endpoints (Rocket.Chat's shapes), for scripts and integrations that cannot
 * hold a WebSocket. Runs wherever the global `fetch` does (browsers, Node ≥ 18, Deno, workers).
 *
 * ```ts
 * const api = new DdpHttpClient('https://chat.example.com', {
 *   onTwoFactorRequired: async ({ details }) => ({ code: await askUser(details) }),
 * });
 * await api.login('alice', 'secret');
 * await api.call('rooms.delete', 'general');     // asks for a code when the server wants one
 * ```
 */
import { DdpError } from '../protocol/errors.js';
import { decode, encode } from '../protocol/ejson.js';
import { isTwoFactorErrorCode } from '../protocol/two-factor.js';
import { isRecord } from '../protocol/validate.js';
import { passwordDigest } from './account.js';
import { retryWithTwoFactor, type TwoFactorAnswer, type TwoFactorAttempt, type TwoFactorHandler } from './two-factor.js';

export type { TwoFactorAnswer, TwoFactorChallenge, TwoFactorHandler } from './two-factor.js';

/** The `fetch` this client needs: the standard one, or anything with its signature. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link DdpHttpClient}. */
export interface DdpHttpClientOptions {
  /**
   * Asked for a code when the server answers `totp-required` or `totp-invalid`; return
   * `{code, method?}`, or null to cancel (the call then fails with `two-factor-cancelled`).
   * Without it, two-factor errors reach the caller unchanged.
   */
  onTwoFactorRequired?: TwoFactorHandler;
  /** Codes asked for one call before giving up with the server's last error. @default 3 */
  maxTwoFactorAttempts?: number;
  /** The `fetch` to use. @default the global `fetch` */
  fetch?: FetchFunction;
  /** Headers sent with every request (Node only can set `user-agent`). @default {} */
  headers?: Record<string, string>;
}

/** Who logs in: a username or email (a string), or exactly one of them named. */
export type HttpLoginUser = string | { username: string } | { email: string };

/** The credentials a login returns, and what {@link DdpHttpClient.useToken} takes. */
export interface HttpCredentials {
  userId: string;
  /** A session token, or a personal access token. */
  authToken: string;
}

/**
 * An error the server answered with an HTTP status other than 200 (or a body this client could
 * not read). `error`, `reason` and `details` are the server's, as for any {@link DdpError};
 * `status` is the HTTP status.
 */
export class DdpHttpError extends DdpError {
  override name = 'DdpHttpError';

  constructor(
    /** The HTTP status of the answer. */
    readonly status: number,
    error: string | number,
    reason?: string,
    details?: unknown,
  ) {
    super(error, reason, details);
  }
}

/** The defaults of {@link DdpHttpClientOptions}. */
export const HTTP_CLIENT_DEFAULTS = Object.freeze({ maxTwoFactorAttempts: 3 });

/** Meteor's `reason [error]` text back to the reason. */
function reasonOf(message: unknown, error: string | number): string | undefined {
  if (typeof message !== 'string') return undefined;
  const suffix = ` [${error}]`;
  return message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

/** Over HTTP the details are plain JSON: give the expiry back its type. */
function reviveDetails(details: unknown): unknown {
  if (isRecord(details) && typeof details.codeExpires === 'string') {
    const at = new Date(details.codeExpires);
    if (!Number.isNaN(at.getTime())) return { ...details, codeExpires: at };
  }
  return details;
}

/**
 * A client of ddp-guard's HTTP API: `POST /api/v1/login`, `/api/v1/method.call/:method`,
 * `/api/v1/method.callAnon/:method` and `/api/v1/users.2fa.sendEmailCode`, with the two-factor
 * retry (`x-2fa-code` / `x-2fa-method` headers; `code` in the body for a login).
 */
export class DdpHttpClient {
  private readonly base: string;
  private readonly handler: TwoFactorHandler | undefined;
  private readonly maxAttempts: number;
  private readonly fetcher: FetchFunction;
  private readonly extraHeaders: Record<string, string>;
  private auth: HttpCredentials | null = null;
  private nextId = 0;

  /** @param baseUrl the server's HTTP address, such as `http://localhost:3000` (a path prefix is kept). */
  constructor(baseUrl: string, options: DdpHttpClientOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`DdpHttpClient needs an http: or https: URL, got ${url.protocol}`);
    this.base = url.href.replace(/\/+$/, '');
    const max = options.maxTwoFactorAttempts ?? HTTP_CLIENT_DEFAULTS.maxTwoFactorAttempts;
    if (!Number.isInteger(max) || max < 0) throw new TypeError(`maxTwoFactorAttempts must be a whole number ≥ 0, got ${String(max)}`);
    this.maxAttempts = max;
    this.handler = options.onTwoFactorRequired;
    const fetcher = options.fetch ?? (typeof fetch === 'function' ? (input: string, init: RequestInit) => fetch(input, init) : undefined);
    if (!fetcher) throw new TypeError('No global fetch: pass options.fetch');
    this.fetcher = fetcher;
    this.extraHeaders = { ...(options.headers ?? {}) };
  }

  /** The credentials sent with `call` (`X-User-Id`, `X-Auth-Token`), or null. */
  get credentials(): HttpCredentials | null {
    return this.auth === null ? null : { ...this.auth };
  }

  /** The logged-in user's id, or null. */
  get userId(): string | null {
    return this.auth?.userId ?? null;
  }

  /** Use a session token or a personal access token for the calls that follow. */
  useToken(userId: string, authToken: string): void {
    if (userId === '' || authToken === '') throw new TypeError('useToken needs a user id and a token');
    this.auth = { userId, authToken };
  }

  /** Forget the credentials (the token stays valid on the server; see {@link logout}). */
  clearToken(): void {
    this.auth = null;
  }

  /**
   * Log in with a password (sent as its sha-256 digest, never in plain text) and keep the
   * session token for later calls. A user with a second factor is asked for a code through
   * `onTwoFactorRequired`, unless `code` is given.
   * @throws DdpHttpError 401 `Unauthorized` for a wrong password or an unknown user; 401
   *   `totp-required`/`totp-invalid`/`totp-max-attempts`; 429 `too-many-requests`.
   */
  async login(user: HttpLoginUser, password: string, code?: string): Promise<HttpCredentials> {
    const body: Record<string, unknown> = typeof user === 'string' ? { user }
      : 'username' in user ? { username: user.username } : { email: user.email };
    body.password = passwordDigest(password);
    const result = await this.withTwoFactor('login', code === undefined ? undefined : { code }, async (answer) => {
      const headers: Record<string, string> = {};
      if (answer?.method !== undefined) headers['x-2fa-method'] = answer.method;
      const sent = answer === undefined ? body : { ...body, code: answer.code };
      const { status, json } = await this.post('/api/v1/login', sent, headers);
      if (status === 200 && json.status === 'success' && isRecord(json.data)
        && typeof json.data.userId === 'string' && typeof json.data.authToken === 'string') {
        return { userId: json.data.userId, authToken: json.data.authToken };
      }
      throw this.httpError(status, json);
    });
    this.auth = result;
    return { ...result };
  }

  /** End the session on the server (`logout`) and forget the credentials. */
  async logout(): Promise<void> {
    if (this.auth === null) return;
    try {
      await this.call('logout');
    } finally {
      this.auth = null;
    }
  }

  /**
   * Call a method as the logged-in user (`/api/v1/method.call/:method`). Resolves with the
   * method's result, EJSON types (Date, binary) restored.
   * @throws DdpError the method's error; DdpHttpError 401 without valid credentials, 400 for a
   *   two-factor refusal, 429 when rate limited; `two-factor-cancelled` when the handler gives up.
   */
  call(method: string, ...params: unknown[]): Promise<unknown> {
    return this.methodCall(false, method, params);
  }

  /** Call a method without credentials (`/api/v1/method.callAnon/:method`). */
  callAnon(method: string, ...params: unknown[]): Promise<unknown> {
    return this.methodCall(true, method, params);
  }

  /**
   * Ask the server to email a 2FA code (`/api/v1/users.2fa.sendEmailCode`). The server answers
   * the same whether or not the user exists.
   */
  async sendEmailCode(emailOrUsername: string): Promise<void> {
    const { status, json } = await this.post('/api/v1/users.2fa.sendEmailCode', { emailOrUsername }, {});
    if (status !== 200 || json.success !== true) throw this.httpError(status, json);
  }

  private async methodCall(anonymous: boolean, method: string, params: unknown[]): Promise<unknown> {
    if (typeof method !== 'string' || method === '') throw new TypeError('The method name must be a non-empty string');
    const path = `/api/v1/${anonymous ? 'method.callAnon' : 'method.call'}/${encodeURIComponent(method)}`;
    return this.withTwoFactor(method, undefined, async (answer, asked) => {
      const id = String(++this.nextId);
      const headers: Record<string, string> = {};
      if (!anonymous && this.auth !== null) {
        headers['x-user-id'] = this.auth.userId;
        headers['x-auth-token'] = this.auth.authToken;
      }
      if (answer !== undefined) {
        headers['x-2fa-code'] = answer.code;
        headers['x-2fa-method'] = answer.method ?? asked?.method ?? '';
      }
      const { status, json } = await this.post(path, { message: encode({ msg: 'method', id, method, params }) }, headers);
      if (status !== 200 || json.success !== true || typeof json.message !== 'string') throw this.httpError(status, json);
      let result: unknown;
      try {
        result = decode(json.message);
      } catch (err) {
        throw new DdpHttpError(status, 'bad-response', `The server's message is not EJSON: ${(err as Error).message}`);
      }
      if (!isRecord(result) || result.msg !== 'result') throw new DdpHttpError(status, 'bad-response', 'The server\'s message is not a DDP result');
      if (result.error !== undefined) {
        const e = result.error;
        if (!isRecord(e) || (typeof e.error !== 'string' && typeof e.error !== 'number')) throw new DdpHttpError(status, 'bad-response', 'The server sent an unreadable error');
        const reason = typeof e.reason === 'string' ? e.reason : undefined;
        throw new DdpError(e.error, reason, e.details);
      }
      return result.result;
    });
  }

  /**
   * The client's two-factor retry ({@link retryWithTwoFactor}) with this client's handler and
   * limit. Over HTTP an empty `x-2fa-code` is no code at all, so an empty answer is refused.
   */
  private withTwoFactor<T>(method: string, first: TwoFactorAnswer | undefined, attempt: TwoFactorAttempt<T>): Promise<T> {
    return retryWithTwoFactor(method, (answer, asked) => {
      if (asked !== undefined && answer?.code === '') throw new TypeError('onTwoFactorRequired must return {code: string} or null');
      return attempt(answer, asked);
    }, { handler: this.handler, maxAttempts: this.maxAttempts }, first);
  }

  private async post(path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await this.fetcher(this.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...this.extraHeaders, ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DdpHttpError(response.status, 'bad-response', `The server answered ${response.status} with a body that is not JSON`);
    }
    if (!isRecord(json)) throw new DdpHttpError(response.status, 'bad-response', `The server answered ${response.status} with JSON that is not an object`);
    return { status: response.status, json };
  }

  /** The error of a non-success answer, in each of the server's shapes. */
  private httpError(status: number, json: Record<string, unknown>): DdpHttpError {
    // A two-factor refusal or a rate limit on a method call: {success:false, error: 'reason [code]', errorType, details}.
    if (typeof json.errorType === 'string') {
      return new DdpHttpError(status, json.errorType, reasonOf(json.error, json.errorType), reviveDetails(json.details));
    }
    // The login's shape: {success:false, status:'error', error, message, details?}.
    if (json.status === 'error' && (typeof json.error === 'string' || typeof json.error === 'number')) {
      const details = isTwoFactorErrorCode(json.error) ? reviveDetails(json.details) : json.details;
      return new DdpHttpError(status, json.error, typeof json.message === 'string' ? json.message : undefined, details);
    }
    // 401 without valid credentials: {success:false, status:'error', message}.
    if (json.status === 'error' && typeof json.message === 'string') return new DdpHttpError(status, status, json.message);
    // A request the server could not read (400, 404, 405, 413, 500): {success:false, error: text}.
    if (typeof json.error === 'string') return new DdpHttpError(status, status, json.error);
    return new DdpHttpError(status, 'bad-response', `The server answered ${status} with a body of an unexpected shape`);
  }
}
