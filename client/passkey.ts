/**
 * Passkeys in a browser, with `@simplewebauthn/browser`: answer a `passkey` challenge of the
 * guard (`passkeyHandler`, for `onTwoFactorRequired`), sign in without a password, and add a
 * passkey. Where there is no WebAuthn (Node, an old browser) each says so with an error naming
 * the factor, `passkey-unsupported`, and the handler hands the challenge to its fallback.
 */
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser';
import type { PasskeyRequestOptions } from '../protocol/index.js';
import { clientError } from './errors.js';
import type { TwoFactorAnswer, TwoFactorChallenge, TwoFactorHandler } from './two-factor.js';
import type { LoginResult } from './account.js';

/** What the helpers need of a client (a `DdpClient` has it). */
export interface PasskeyClient {
  call(method: string, ...params: unknown[]): Promise<unknown>;
  loginWithPasskey(response: unknown): Promise<LoginResult>;
}

type RequestJson = Parameters<typeof startAuthentication>[0]['optionsJSON'];
type CreationJson = Parameters<typeof startRegistration>[0]['optionsJSON'];

function requireWebAuthn(details: Record<string, unknown>): void {
  if (!browserSupportsWebAuthn()) {
    throw clientError('passkeyUnsupported', undefined, details);
  }
}

/** The browser's assertion for `options`, as the JSON text the guard takes in `twoFactorCode`. */
export async function passkeyAssertion(options: PasskeyRequestOptions): Promise<string> {
  requireWebAuthn({ method: 'passkey' });
  return JSON.stringify(await startAuthentication({ optionsJSON: options as RequestJson }));
}

/**
 * An `onTwoFactorRequired` handler that answers `passkey` challenges with the browser's
 * WebAuthn and gives every other challenge to `fallback`. Without WebAuthn, or when the user
 * dismisses the browser's prompt, the challenge goes to `fallback` too (which may offer the
 * user's other factors); without a fallback, the error names the factor.
 */
export function passkeyHandler(fallback?: TwoFactorHandler): TwoFactorHandler {
  return async (challenge: TwoFactorChallenge): Promise<TwoFactorAnswer | null> => {
    const options = challenge.details.passkeyOptions;
    if (challenge.details.method !== 'passkey' || options === undefined) return fallback ? fallback(challenge) : null;
    try {
      return { code: await passkeyAssertion(options), method: 'passkey' };
    } catch (err) {
      if (fallback) return fallback(challenge);
      if (!browserSupportsWebAuthn()) throw clientError('passkeyUnsupported', undefined, { method: challenge.method, availableMethods: challenge.details.availableMethods });
      throw err;
    }
  };
}

/** Sign in without a password: `passkey:loginOptions`, the browser's discoverable credential, `login({passkey})`. */
export async function signInWithPasskey(client: PasskeyClient): Promise<LoginResult> {
  requireWebAuthn({ method: 'login' });
  const options = (await client.call('passkey:loginOptions')) as RequestJson;
  return client.loginWithPasskey(await startAuthentication({ optionsJSON: options }));
}

/**
 * Add a passkey named `name` to the logged-in user. The server asks for the user's existing
 * factor (the client's `onTwoFactorRequired` answers it), as for any factor change.
 */
export async function addPasskey(client: PasskeyClient, name: string): Promise<{ id: string; name: string }> {
  requireWebAuthn({ method: '2fa:passkey:register' });
  const options = (await client.call('2fa:passkey:registrationOptions')) as CreationJson;
  const response = await startRegistration({ optionsJSON: options });
  return (await client.call('2fa:passkey:register', { name, response })) as { id: string; name: string };
}
