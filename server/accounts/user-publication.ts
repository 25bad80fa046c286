/**
 * The logged-in user's own document in collection `users` (Meteor's client waits for it before
 * it reports a login), kept up to date when account or 2FA methods change the user. Never a
 * secret in it: no password hash, no tokens, no 2FA secret.
 */
import type { Fields } from '../../protocol/messages.js';
import type { DdpServer } from '../ddp-server.js';
import type { ServiceContainer, Services } from '../services.js';

/** The published fields of a user, or null when the user is gone. */
export async function ownUserFields(services: Services, userId: string): Promise<Fields | null> {
  const user = await services.store.users.findById(userId);
  if (!user) return null;
  const twoFactor = await services.store.twoFactor.get(user.id);
  return {
    username: user.username,
    emails: user.emails.map((e) => ({ address: e.address, verified: e.verified })),
    createdAt: user.createdAt,
    ...(user.profile ? { profile: user.profile } : {}),
    twoFactor: { totp: twoFactor.totpEnabled, email: twoFactor.emailEnabled },
  };
}

export function publishOwnUser(server: DdpServer, container: ServiceContainer): void {
  server.publish(null, async function () {
    const userId = this.userId;
    if (userId === null) return;
    const services = await container.get();
    const fields = await ownUserFields(services, userId);
    if (!fields) return;
    this.added('users', userId, fields);
    let refreshing = Promise.resolve();
    const stop = services.userEvents.listen(userId, () => {
      // One refresh at a time, in order; the merge box sends only fields that changed.
      refreshing = refreshing.then(async () => {
        const next = await ownUserFields(services, userId);
        if (next) this.changed('users', userId, next);
        else this.removed('users', userId);
      }).catch((err: unknown) => services.logger.error({ userId, err: String(err) }, 'could not refresh the user document'));
    });
    this.onStop(stop);
    this.ready();
    // Only logged-in sessions run it: anonymous idle connections then hold no subscription.
  }, { requireUser: true });
}
