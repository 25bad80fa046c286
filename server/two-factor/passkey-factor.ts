/**
 * The passkey factor: a WebAuthn assertion by one of the user's passkeys, answered to a
 * single-use challenge the guard issued to that user. Also the passwordless sign-in check.
 */
import type { Services } from '../services/services.js';
import type { PasskeyRecord, UserRecord } from '../storage/contract.js';
import { parseAssertion, relyingParty, requestOptions, userHandleOf, verifyAssertion, type AssertionOutcome } from './webauthn.js';
import type { ChallengeData, Factor, VerifyOutcome } from './factors.js';

/** The guard's passkey factor. A counter that did not grow is `cloned` (the guard audits it). */
export function passkeyFactor(services: Services): Factor {
  const rp = relyingParty(services.options);
  return {
    name: 'passkey',
    async challenge(user): Promise<ChallengeData> {
      const passkeys = await services.store.passkeys.list(user.id);
      return { codeGenerated: false, passkeyOptions: await requestOptions(services, rp, { user, passkeys }) };
    },
    async verify(user, _state, code): Promise<VerifyOutcome> {
      const response = parseAssertion(code);
      if (response === null) return 'invalid';
      const passkey = await services.store.passkeys.find(response.id);
      // Another user's credential, or one removed since: refused like a wrong code.
      if (passkey === null || passkey.userId !== user.id) return 'invalid';
      return asVerifyOutcome(await verifyAssertion(services, rp, response, passkey, 'second-factor', { userId: user.id, binding: null }));
    },
  };
}

const asVerifyOutcome = (o: AssertionOutcome): VerifyOutcome => (o === 'regressed' ? 'cloned' : o);

/** What a passwordless sign-in attempt names: the credential and its owner, or nothing usable. */
export interface SignInCandidate {
  user: UserRecord;
  passkey: PasskeyRecord;
}

/**
 * The user a sign-in assertion claims to be, from its credential id (and the user handle, which
 * must agree); null for an unknown credential or a malformed answer.
 */
export async function signInCandidate(services: Services, response: unknown): Promise<{ candidate: SignInCandidate; verify: (binding: string) => Promise<VerifyOutcome> } | null> {
  const assertion = parseAssertion(response);
  if (assertion === null) return null;
  const passkey = await services.store.passkeys.find(assertion.id);
  if (passkey === null) return null;
  const handle = userHandleOf(assertion);
  if (handle !== null && handle !== passkey.userId) return null;
  const user = await services.store.users.findById(passkey.userId);
  if (user === null) return null;
  const rp = relyingParty(services.options);
  return {
    candidate: { user, passkey },
    verify: async (binding) => asVerifyOutcome(await verifyAssertion(services, rp, assertion, passkey, 'sign-in', { userId: null, binding })),
  };
}
