/**
 * The logged-in user's own document in collection `users` (Meteor's client waits for it before
 * it reports a login), kept up to date when account or 2FA methods change the user. The document
 * is {@link ownUserDocument}'s, the same the REST API answers as `me`.
 */
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer } from '../services/services.js';
import { ownUserDocument } from '../accounts/own-user.js';

export function publishOwnUser(server: DdpServer, container: ServiceContainer): void {
  server.publish(null, async function () {
    const userId = this.userId;
    if (userId === null) return;
    const services = await container.get();
    const fields = await ownUserDocument(services, userId);
    if (!fields) return;
    this.added('users', userId, fields);
    let sent: Record<string, unknown> = fields;
    let refreshing = Promise.resolve();
    const stop = services.userEvents.listen(userId, () => {
      // One refresh at a time, in order; the merge box sends only fields that changed.
      refreshing = refreshing.then(async () => {
        const next = await ownUserDocument(services, userId);
        if (!next) {
          this.removed('users', userId);
          return;
        }
        // A field the document no longer has (`email`, `profile`) is cleared: DDP's `changed`
        // removes a field only when it is given as undefined.
        const gone = Object.keys(sent).filter((key) => !(key in next));
        this.changed('users', userId, { ...next, ...Object.fromEntries(gone.map((key) => [key, undefined])) });
        sent = next;
      }).catch((err: unknown) => services.logger.error({ userId, err: String(err) }, 'could not refresh the user document'));
    });
    this.onStop(stop);
    this.ready();
    // Only logged-in sessions run it: anonymous idle connections then hold no subscription.
  }, { requireUser: true });
}
