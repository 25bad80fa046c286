/**
 * The user's own document: what the store holds about the logged-in user, under the names Meteor
 * and Rocket.Chat clients read, and never a secret (no password hash, token, TOTP secret or
 * code). One builder for every place that shows it: the DDP `users` publication, and the REST
 * API's `data.me` of `/api/v1/login` and `/api/v1/me`.
 */
import type { Services } from '../services/services.js';
import type { EmailRecord } from '../storage/contract.js';

/** The user's own document, without its id (DDP sends the id beside the fields; REST adds `_id`). */
export type OwnUserDocument = {
  username: string;
  emails: EmailRecord[];
  /** The first verified address: Rocket.Chat's REST `me` has it. */
  email?: string;
  createdAt: Date;
  profile?: Record<string, unknown>;
  /**
   * Rocket.Chat's names for the account's sign-in methods (its clients read
   * `services.totp.enabled`): a factor appears only when enabled; the password only as `exists`.
   */
  services: { password: { exists: boolean }; totp?: { enabled: true }; email2fa?: { enabled: true } };
  /** ddp-guard's own summary of the factors, read by its client and account page. */
  twoFactor: { totp: boolean; email: boolean };
};

/** The user's own document, or null when the user is gone. */
export async function ownUserDocument(services: Services, userId: string): Promise<OwnUserDocument | null> {
  const user = await services.store.users.findById(userId);
  if (!user) return null;
  const state = await services.store.twoFactor.get(user.id);
  const verified = user.emails.find((e) => e.verified);
  return {
    username: user.username,
    emails: user.emails.map((e) => ({ address: e.address, verified: e.verified })),
    ...(verified ? { email: verified.address } : {}),
    createdAt: user.createdAt,
    ...(user.profile ? { profile: user.profile } : {}),
    services: {
      password: { exists: user.passwordHash !== null },
      ...(state.totpEnabled ? { totp: { enabled: true as const } } : {}),
      ...(state.emailEnabled ? { email2fa: { enabled: true as const } } : {}),
    },
    twoFactor: { totp: state.totpEnabled, email: state.emailEnabled },
  };
}
