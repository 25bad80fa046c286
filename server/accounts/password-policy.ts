/**
 * The password policy of new passwords (`createUser`, `changePassword`, `resetPassword`, and
 * `ddp-guard user add|passwd`): a minimum length and a refusal of the most common passwords,
 * the two rules NIST SP 800-63B asks for (and no composition rules, which push people to
 * weaker passwords).
 *
 * The list is the first {@link COMMON_PASSWORD_COUNT} of the ranked `passwords-common`
 * dictionary of `@zxcvbn-ts/language-common` (a maintained package, MIT), loaded on first use.
 * Meteor's clients send only the sha-256 digest of a password: a digest is checked against
 * the digests of the same list, but its length cannot be known, so the length rule applies to
 * passwords that arrive in plain text (the CLI, a plain-string `password` over DDP or HTTP).
 */
import { createHash } from 'node:crypto';
import { catalogueError, type DdpError } from '../../protocol/errors.js';

/** How many of the most common passwords are refused. */
export const COMMON_PASSWORD_COUNT = 10_000;

/** The rules, from the server options `passwordMinLength` and `refuseCommonPasswords`. */
export interface PasswordPolicy {
  minLength: number;
  refuseCommon: boolean;
}

/** A broken rule: which, and what the error details say. */
export type PolicyViolation = { rule: 'minLength'; minLength: number } | { rule: 'common' };

interface CommonPasswords {
  plain: ReadonlySet<string>;
  digests: ReadonlySet<string>;
}

let common: Promise<CommonPasswords> | null = null;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The list, loaded and hashed once per process (about 40 ms), on the first check. */
function commonPasswords(): Promise<CommonPasswords> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => {
    const top = dictionary['passwords-common'].slice(0, COMMON_PASSWORD_COUNT);
    return { plain: new Set(top), digests: new Set(top.map(sha256)) };
  });
  return common;
}

/**
 * The rule a new password breaks, or null. `password` is the plain text, or `{digest}` (the
 * sha-256 hex digest Meteor's clients send), for which only the common-password rule can run.
 */
export async function passwordPolicyViolation(policy: PasswordPolicy, password: string | { digest: string }): Promise<PolicyViolation | null> {
  if (typeof password === 'string') {
    // Characters as people count them (code points), not UTF-16 units.
    if ([...password].length < policy.minLength) return { rule: 'minLength', minLength: policy.minLength };
    if (policy.refuseCommon) {
      const list = await commonPasswords();
      // The list is lower case; "Password1" is as guessable as "password1".
      if (list.plain.has(password) || list.plain.has(password.toLowerCase())) return { rule: 'common' };
    }
    return null;
  }
  if (policy.refuseCommon && (await commonPasswords()).digests.has(password.digest.toLowerCase())) return { rule: 'common' };
  return null;
}

/** The wire error of a violation, from the catalogue (`details` say which rule). */
export function policyError(violation: PolicyViolation): DdpError {
  return violation.rule === 'minLength'
    ? catalogueError('passwordTooShort', violation.minLength, { rule: 'minLength', minLength: violation.minLength })
    : catalogueError('passwordTooCommon', undefined, { rule: 'common' });
}

/** Throws the catalogue error when `password` breaks the policy. */
export async function enforcePasswordPolicy(policy: PasswordPolicy, password: string | { digest: string }): Promise<void> {
  const violation = await passwordPolicyViolation(policy, password);
  if (violation) throw policyError(violation);
}

/** The policy the options set. */
export function passwordPolicyOf(options: { passwordMinLength: number; refuseCommonPasswords: boolean }): PasswordPolicy {
  return { minLength: options.passwordMinLength, refuseCommon: options.refuseCommonPasswords };
}
