/**
 * Who is calling: a DDP session, an HTTP request, or the server itself. Hooks (rate limit, the
 * 2FA guard) and method invocations read the caller; only accounts code changes its login.
 */
import type { ConnectionInfo } from './connection-info.js';
import type { TwoFactorArgument } from '../../protocol/two-factor.js';

/** How the caller authenticated: the token it used, hashed, and what kind it is. */
export interface LoginState {
  readonly userId: string;
  /** sha-256 (base64) of the login token or personal access token. */
  readonly hashedToken: string;
  readonly kind: 'session' | 'personal';
  /** A personal access token created with `bypassTwoFactor`. */
  readonly bypassTwoFactor: boolean;
}

export type TransportKind = 'ddp' | 'http' | 'internal';

export interface Caller {
  readonly transport: TransportKind;
  /** `null` for calls made by the server itself. */
  readonly connection: ConnectionInfo | null;
  readonly userId: string | null;
  readonly login: LoginState | null;
  /**
   * Change the logged-in user (Meteor's `setUserId`): subscriptions rerun for the new user.
   * `login` records which token authenticated the caller.
   */
  setUser(userId: string | null, login: LoginState | null): Promise<void>;
  /** A 2FA answer carried by the transport itself (HTTP's `x-2fa-code`/`x-2fa-method`). */
  readonly transportTwoFactor?: TwoFactorArgument;
  /**
   * The trust this caller's session token was last seen to hold (written by the guard): until
   * it expires, a guarded call on the same token needs no store lookup. Never extends the trust
   * stored with the token; a new login (another token) does not match it.
   */
  twoFactorTrust?: TrustMemo | null;
}

/** What the guard remembers of a verified trust mark. */
export interface TrustMemo {
  readonly hashedToken: string;
  /** When the stored trust ends (ms since the epoch, on the server clock). */
  readonly until: number;
}
