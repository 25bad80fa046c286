/** What the page says: purposes of guarded calls, factor names, and errors in plain words. */
import { DdpError } from '../client/index.js';

/** What a DDP method does, in the words of the dialog ("to …"). */
const PURPOSES: Readonly<Record<string, string>> = Object.freeze({
  login: 'sign in',
  '2fa:enableEmail': 'turn on email codes',
  '2fa:disableEmail': 'turn off email codes',
  '2fa:disable': 'turn off the authenticator app',
  '2fa:regenerateCodes': 'replace your backup codes',
  'personalAccessTokens:generateToken': 'create a personal access token',
  'personalAccessTokens:regenerateToken': 'replace a personal access token',
  'personalAccessTokens:removeToken': 'revoke a personal access token',
  'sessions:list': 'see where you are signed in',
  'sessions:logout.me': 'sign a session out',
  removeOtherTokens: 'sign out your other sessions',
  changePassword: 'change your password',
  'securityLog:list': 'read your security log',
  'demo.guarded': 'call the protected method',
  '2fa:passkey:register': 'add a passkey',
  '2fa:passkey:list': 'see your passkeys',
  '2fa:passkey:rename': 'rename a passkey',
  '2fa:passkey:remove': 'remove a passkey',
});

/** "To sign in", "To revoke a personal access token", … */
export function purposeOf(method: string): string {
  const purpose = PURPOSES[method] ?? `call ${method}`;
  return `To ${purpose}, confirm it is you.`;
}

/** How a factor is named on the "use another method" buttons. */
export const SWITCH_LABELS: Readonly<Record<string, string>> = Object.freeze({
  passkey: 'Use your passkey instead',
  totp: 'Use the authenticator app instead',
  email: 'Send a code by email instead',
  password: 'Use your password instead',
});

/** Errors the page explains itself; anything else shows the server's reason. */
const ERROR_TEXT: Readonly<Record<string, string>> = Object.freeze({
  'totp-invalid': 'That code is not valid.',
  'totp-required': 'A code is needed.',
  'two-factor-cancelled': 'Cancelled.',
  'connection-lost': 'The connection was lost before the server answered. Try again.',
  'client-closed': 'The page is not connected. Reload it.',
  timeout: 'The server did not answer in time. Try again.',
  'too-many-requests': 'Too many attempts. Wait a few seconds and try again.',
  'email-not-verified': 'Verify an email address first.',
  'error-token-already-exists': 'You already have a token with that name.',
  'error-token-does-not-exists': 'That token does not exist any more.',
  'totp-already-enabled': 'The authenticator app is already on.',
  'totp-not-enabled': 'The authenticator app is not on.',
  'totp-not-started': 'Start the set-up again.',
  'error-session-not-found': 'That session is already signed out.',
  'passkey-invalid': 'The passkey was not accepted.',
  'passkey-not-found': 'That passkey does not exist any more.',
  'passkey-unsupported': 'This browser cannot use passkeys.',
});

/**
 * What went wrong in the browser's passkey prompt. WebAuthn says little on purpose: a closed
 * prompt, a timeout and "no passkey for this site here" are all `NotAllowedError`.
 */
export function passkeyProblem(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError' || name === 'AbortError') return 'The passkey prompt was closed or timed out, or this device has no passkey for this site.';
  if (name === 'InvalidStateError') return 'This device already holds a passkey for your account.';
  if (error instanceof DdpError && error.error === 'passkey-unsupported') return 'This browser cannot use passkeys: use another of your factors.';
  return `The passkey did not work: ${error instanceof Error ? error.message : String(error)}`;
}

/** The error of a call, as a sentence for the user. */
export function errorText(error: unknown): string {
  if (error instanceof Error && !(error instanceof DdpError) && /^(NotAllowedError|AbortError|InvalidStateError)$/.test(error.name)) return passkeyProblem(error);
  if (error instanceof DdpError) {
    const known = ERROR_TEXT[String(error.error)];
    if (known) return known;
    return error.reason ? `${error.reason.replace(/\.$/, '')}.` : `Error ${String(error.error)}.`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The DDP error code of an error, if it is one. */
export function errorCode(error: unknown): string | number | undefined {
  return error instanceof DdpError ? error.error : undefined;
}
