/**
 * Who is logged in on this client: password and token logins, the resume token, and the
 * re-login that runs after every reconnect before queued calls are sent.
 */
import { DdpError } from '../protocol/index.js';
import { Emitter } from './emitter.js';
import { clientError } from './errors.js';
import { sha256Hex } from './sha256.js';

/** Who logs in: a string is an email when it contains `@`, else a username. */
export type LoginUser = string | { username: string } | { email: string } | { id: string };

/** A password, or its digest when the application already holds it. */
export type LoginPassword = string | { digest: string; algorithm: 'sha-256' };

/** The server's answer to a successful login. */
export interface LoginResult {
  /** The user's id. */
  id: string;
  /** The resume token: log in again with it after a reconnect or a restart. */
  token: string;
  /** When the token expires; undefined for tokens that do not (personal access tokens). */
  tokenExpires: Date | undefined;
  /** `password` or `resume`, when the server says. */
  type?: string;
}

/** Events of the login state. */
export interface AccountEvents {
  /** After every successful login, including the automatic re-login after a reconnect. */
  login: [result: LoginResult];
  /** After `logout()`, or when the server refused the resume token on a reconnect. */
  logout: [];
}

/** Calls a method through the two-factor retry. */
export type GuardedInvoke = (method: string, params: unknown[]) => Promise<unknown>;

/** The `user` selector of Meteor's password login. */
export function userSelector(user: LoginUser): { username: string } | { email: string } | { id: string } {
  if (typeof user !== 'string') return user;
  return user.includes('@') ? { email: user } : { username: user };
}

/** The `password` field of Meteor's password login: the sha-256 hex digest, never the password. */
export function passwordDigest(password: LoginPassword): { digest: string; algorithm: 'sha-256' } {
  return typeof password === 'string' ? { digest: sha256Hex(password), algorithm: 'sha-256' } : password;
}

function readLoginResult(value: unknown): LoginResult {
  if (typeof value !== 'object' || value === null) throw clientError('badResponse', 'Login answered without a result');
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || typeof v.token !== 'string') throw clientError('badResponse', 'Login answered without id and token');
  let tokenExpires: Date | undefined;
  if (v.tokenExpires instanceof Date) tokenExpires = v.tokenExpires;
  else if (typeof v.tokenExpires === 'number' || typeof v.tokenExpires === 'string') tokenExpires = new Date(v.tokenExpires);
  const result: LoginResult = { id: v.id, token: v.token, tokenExpires };
  if (typeof v.type === 'string') result.type = v.type;
  return result;
}

/** Errors that say nothing about the token: the re-login is tried again on the next session. */
function isTransient(error: unknown): boolean {
  return error instanceof DdpError && (error.error === 'connection-lost' || error.error === 'timeout' || error.error === 'client-closed' || error.error === 'too-many-requests');
}

/** The login state of one client. */
export class LoginState extends Emitter<AccountEvents> {
  readonly #invoke: GuardedInvoke;
  readonly #invokeNow: GuardedInvoke;
  #current: LoginResult | undefined;

  /**
   * @param invoke calls through the queue (user logins)
   * @param invokeNow calls at once, ahead of the queue (the re-login after a reconnect)
   */
  constructor(invoke: GuardedInvoke, invokeNow: GuardedInvoke) {
    super();
    this.#invoke = invoke;
    this.#invokeNow = invokeNow;
  }

  /** The logged-in user's id, or undefined. */
  get userId(): string | undefined {
    return this.#current?.id;
  }

  /** The current login (id, resume token, expiry), or undefined. */
  get current(): LoginResult | undefined {
    return this.#current ? { ...this.#current } : undefined;
  }

  /** Log in with a password; the password leaves the client only as its sha-256 digest. */
  loginWithPassword(user: LoginUser, password: LoginPassword): Promise<LoginResult> {
    return this.login({ user: userSelector(user), password: passwordDigest(password) });
  }

  /** Log in with a resume token or a personal access token. */
  loginWithToken(token: string): Promise<LoginResult> {
    return this.login({ resume: token });
  }

  /** Call `login` with any argument the server understands, and keep the result. */
  async login(argument: Record<string, unknown>): Promise<LoginResult> {
    const result = readLoginResult(await this.#invoke('login', [argument]));
    this.#current = result;
    this.emit('login', { ...result });
    return { ...result };
  }

  /** Log out on the server, and locally whatever the server says. */
  async logout(): Promise<void> {
    try {
      await this.#invoke('logout', []);
    } finally {
      this.#forget();
    }
  }

  /**
   * After a reconnect: log in again with the resume token. A token the server refuses is
   * dropped (with a `logout` event); a transient failure keeps it for the next session.
   */
  async relogin(): Promise<void> {
    const token = this.#current?.token;
    if (token === undefined) return;
    try {
      const result = readLoginResult(await this.#invokeNow('login', [{ resume: token }]));
      this.#current = result;
      this.emit('login', { ...result });
    } catch (error) {
      if (!isTransient(error)) this.#forget();
    }
  }

  #forget(): void {
    if (!this.#current) return;
    this.#current = undefined;
    this.emit('logout');
  }
}
