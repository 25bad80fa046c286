/**
 * WebAuthn with `@simplewebauthn/server`: the relying party from the options, options for the
 * three ceremonies (registration, second factor, passwordless sign-in) with their challenges
 * kept single use in the store, and the verification of the browser's answers.
 *
 * Rules (SPEC §3c): user verification required, attestation `none`, each challenge answered
 * once, by its user (or, for a sign-in, its caller), within {@link PASSKEY_CHALLENGE_MS}; a
 * signature counter that does not grow is refused (the store compares and sets it atomically).
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL } from '@simplewebauthn/server/helpers';
import type { PasskeyRequestOptions } from '../../protocol/two-factor.js';
import { isRecord } from '../../protocol/validate.js';
import type { ResolvedOptions } from '../services/options.js';
import type { Services } from '../services/services.js';
import type { PasskeyRecord, UserRecord, WebAuthnCeremony } from '../storage/contract.js';
import { hmacHex } from '../security/crypto.js';
import type { Caller } from '../calls/caller.js';

/** How long a challenge can be answered. */
export const PASSKEY_CHALLENGE_MS = 5 * 60_000;

/** The relying party: its id (a domain) and the browser origins it accepts answers from. */
export interface RelyingParty {
  readonly id: string;
  readonly name: string;
  originAllowed(origin: string): boolean;
}

/**
 * From `webauthnRpId` / `webauthnOrigins`, else from `publicUrl` (its host name and origin),
 * else `localhost` on any port (a development server: browsers allow WebAuthn on localhost).
 */
export function relyingParty(options: ResolvedOptions): RelyingParty {
  const pub = options.publicUrl === null ? null : new URL(options.publicUrl);
  const id = options.webauthnRpId ?? pub?.hostname ?? 'localhost';
  const origins = options.webauthnOrigins ?? (pub ? [pub.origin] : null);
  const originAllowed = origins !== null
    ? (origin: string) => origins.includes(origin)
    : (origin: string) => {
        try {
          const u = new URL(origin);
          return u.hostname === 'localhost' && (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === origin;
        } catch {
          return false;
        }
      };
  return { id, name: options.totpIssuer, originAllowed };
}

/** What binds a sign-in challenge to its caller: a keyed hash of the connection (HTTP: the client address). */
export function callerBinding(services: Services, caller: Caller): string {
  return hmacHex(services.codeKey, 'webauthn-binding', caller.connection?.id ?? '');
}

const transportsOf = (p: PasskeyRecord): AuthenticatorTransportFuture[] => p.transports as AuthenticatorTransportFuture[];

async function keepChallenge(services: Services, challenge: string, ceremony: WebAuthnCeremony, userId: string | null, binding: string | null): Promise<void> {
  const now = services.clock.now();
  await services.store.webauthnChallenges.put({ challenge, ceremony, userId, binding, createdAt: new Date(now), expiresAt: new Date(now + PASSKEY_CHALLENGE_MS) });
}

/** Request options for a second factor (the user's passkeys) or a sign-in (any discoverable credential). */
export async function requestOptions(services: Services, rp: RelyingParty, owner: { user: UserRecord; passkeys: PasskeyRecord[] } | { binding: string }): Promise<PasskeyRequestOptions> {
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'required',
    timeout: PASSKEY_CHALLENGE_MS,
    ...('user' in owner ? { allowCredentials: owner.passkeys.map((p) => ({ id: p.id, transports: transportsOf(p) })) } : {}),
  });
  if ('user' in owner) await keepChallenge(services, options.challenge, 'second-factor', owner.user.id, null);
  else await keepChallenge(services, options.challenge, 'sign-in', null, owner.binding);
  return options as PasskeyRequestOptions;
}

/** Creation options for a new passkey of `user`: a discoverable credential, user verification, no attestation. */
export async function creationOptions(services: Services, rp: RelyingParty, user: UserRecord, existing: PasskeyRecord[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    timeout: PASSKEY_CHALLENGE_MS,
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: transportsOf(p) })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  await keepChallenge(services, options.challenge, 'registration', user.id, null);
  return options;
}

/** An assertion as the browser sends it, checked for shape only; `null` when it is not one. */
export function parseAssertion(value: unknown): AuthenticationResponseJSON | null {
  const v = typeof value === 'string' ? safeJson(value) : value;
  if (!isRecord(v) || typeof v.id !== 'string' || typeof v.rawId !== 'string' || v.type !== 'public-key' || !isRecord(v.response)) return null;
  const r = v.response;
  if (typeof r.clientDataJSON !== 'string' || typeof r.authenticatorData !== 'string' || typeof r.signature !== 'string') return null;
  if (r.userHandle !== undefined && typeof r.userHandle !== 'string') return null;
  return v as unknown as AuthenticationResponseJSON;
}

/** A registration response as the browser sends it, checked for shape only. */
export function parseRegistration(value: unknown): RegistrationResponseJSON | null {
  if (!isRecord(value) || typeof value.id !== 'string' || typeof value.rawId !== 'string' || value.type !== 'public-key' || !isRecord(value.response)) return null;
  const r = value.response;
  if (typeof r.clientDataJSON !== 'string' || typeof r.attestationObject !== 'string') return null;
  return value as unknown as RegistrationResponseJSON;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The challenge and origin the client signed, or null when `clientDataJSON` cannot be read. */
function clientData(encoded: string): { challenge: string; origin: string } | null {
  try {
    const data = decodeClientDataJSON(encoded);
    return typeof data.challenge === 'string' && typeof data.origin === 'string' ? data : null;
  } catch {
    return null;
  }
}

/** The outcome of an assertion: `regressed` is a valid signature whose counter did not grow (a cloned authenticator). */
export type AssertionOutcome = 'ok' | 'invalid' | 'regressed';

/**
 * Verify an assertion made with `passkey`: the challenge is consumed first (single use, whatever
 * follows), then the origin, the RP ID, user verification and the signature; then the counter,
 * compared and set in the store.
 */
export async function verifyAssertion(
  services: Services,
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  passkey: PasskeyRecord,
  ceremony: 'second-factor' | 'sign-in',
  owner: { userId: string | null; binding: string | null },
): Promise<AssertionOutcome> {
  const data = clientData(response.response.clientDataJSON);
  if (data === null) return 'invalid';
  const now = new Date(services.clock.now());
  const issued = await services.store.webauthnChallenges.consume(data.challenge, ceremony, owner, now);
  if (issued === null || !rp.originAllowed(data.origin)) return 'invalid';
  let newCounter: number;
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: issued.challenge,
      expectedOrigin: data.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
      // The counter is compared by the store, atomically: 0 here lets the library pass any.
      credential: { id: passkey.id, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: 0, transports: transportsOf(passkey) },
    });
    if (!result.verified || !result.authenticationInfo.userVerified) return 'invalid';
    newCounter = result.authenticationInfo.newCounter;
  } catch (err) {
    services.logger.debug({ userId: passkey.userId, err: String(err) }, 'passkey assertion refused');
    return 'invalid';
  }
  const use = await services.store.passkeys.recordUse(passkey.userId, passkey.id, newCounter, now);
  return use === 'ok' ? 'ok' : use === 'regressed' ? 'regressed' : 'invalid';
}

/** A new credential, verified: what the store keeps of it (the caller names it). */
export type VerifiedCredential = Pick<PasskeyRecord, 'id' | 'publicKey' | 'counter' | 'transports' | 'backedUp'>;

/** Verify a registration response against a challenge issued to `user`; null when refused. */
export async function verifyRegistration(services: Services, rp: RelyingParty, user: UserRecord, response: RegistrationResponseJSON): Promise<VerifiedCredential | null> {
  const data = clientData(response.response.clientDataJSON);
  if (data === null) return null;
  const issued = await services.store.webauthnChallenges.consume(data.challenge, 'registration', { userId: user.id, binding: null }, new Date(services.clock.now()));
  if (issued === null || !rp.originAllowed(data.origin)) return null;
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: issued.challenge,
      expectedOrigin: data.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    });
    if (!result.verified || !result.registrationInfo.userVerified) return null;
    const { credential, credentialBackedUp } = result.registrationInfo;
    return {
      id: credential.id,
      publicKey: isoBase64URL.fromBuffer(credential.publicKey),
      counter: credential.counter,
      transports: credential.transports ?? response.response.transports ?? [],
      backedUp: credentialBackedUp,
    };
  } catch (err) {
    services.logger.debug({ userId: user.id, err: String(err) }, 'passkey registration refused');
    return null;
  }
}

/** The user id a discoverable credential carries (`userHandle`: the id given at registration). */
export function userHandleOf(response: AuthenticationResponseJSON): string | null {
  const handle = response.response.userHandle;
  if (handle === undefined) return null;
  try {
    return new TextDecoder().decode(isoBase64URL.toBuffer(handle));
  } catch {
    return null;
  }
}
