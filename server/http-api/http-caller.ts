/**
 * The caller behind one HTTP request: address and safe headers from the request, the user from
 * `X-User-Id` + `X-Auth-Token` (a session token or a personal access token), and the 2FA answer
 * from `x-2fa-code` + `x-2fa-method`.
 */
import type { IncomingMessage } from 'node:http';
import type { Caller, LoginState, TrustMemo } from '../calls/caller.js';
import { clientAddressOf, safeHeaders, type ConnectionInfo } from '../calls/connection-info.js';
import type { Services } from '../services/services.js';
import { authenticateToken } from '../accounts/tokens.js';
import type { TwoFactorArgument } from '../../protocol/two-factor.js';
import { randomId } from '../runtime/ids.js';

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

export class HttpCaller implements Caller {
  readonly transport = 'http' as const;
  readonly connection: ConnectionInfo;
  userId: string | null = null;
  login: LoginState | null = null;
  twoFactorTrust: TrustMemo | null = null;
  readonly transportTwoFactor?: TwoFactorArgument;

  constructor(req: IncomingMessage, forwardedCount: number) {
    const clientAddress = clientAddressOf(req.socket.remoteAddress ?? '', req.headers, forwardedCount);
    this.connection = Object.freeze({
      // Per-connection rate limits count an HTTP client per address.
      id: `http:${clientAddress}`,
      clientAddress,
      httpHeaders: Object.freeze(safeHeaders(req.headers)),
      onClose: () => undefined,
      close: () => undefined,
    });
    const code = header(req, 'x-2fa-code');
    const method = header(req, 'x-2fa-method');
    if (code !== undefined && code !== '') this.transportTwoFactor = { twoFactorCode: code, twoFactorMethod: method ?? '' };
  }

  /** A request id for logs. */
  readonly requestId = randomId(8);

  async setUser(userId: string | null, login: LoginState | null): Promise<void> {
    this.userId = userId;
    this.login = login;
  }

  /**
   * Authenticate from `X-User-Id` and `X-Auth-Token`; false when they are missing, unknown,
   * expired, or name another user.
   */
  async authenticate(services: Services, req: IncomingMessage): Promise<boolean> {
    const userId = header(req, 'x-user-id');
    const token = header(req, 'x-auth-token');
    if (!userId || !token || token.length > 512) return false;
    const found = await authenticateToken(services, token, userId);
    if (found === null || found === 'expired') return false;
    await this.setUser(userId, found.login);
    return true;
  }
}
