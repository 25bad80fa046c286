/**
 * The logged-in user's own document in collection `users` (Meteor's client waits for it before
 * it reports a login). Never a secret in it: no password hash, no tokens, no 2FA secret.
 */
import type { DdpServer } from '../ddp-server.js';
import type { ServiceContainer } from '../services.js';

export function publishOwnUser(server: DdpServer, services: ServiceContainer): void {
  server.publish(null, async function () {
    if (this.userId === null) return;
    const { store } = await services.get();
    const user = await store.users.findById(this.userId);
    if (!user) return;
    const twoFactor = await store.twoFactor.get(user.id);
    this.added('users', user.id, {
      username: user.username,
      emails: user.emails.map((e) => ({ address: e.address, verified: e.verified })),
      createdAt: user.createdAt,
      ...(user.profile ? { profile: user.profile } : {}),
      twoFactor: { totp: twoFactor.totpEnabled, email: twoFactor.emailEnabled },
    });
    this.ready();
  });
}
