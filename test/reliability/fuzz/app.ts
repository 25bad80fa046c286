/**
 * What the fuzz server runs besides the built-ins: methods and publications whose answers the
 * oracle knows exactly, and a user for the well-behaved client.
 */
import type { GuardServer } from '../../../server/index.js';
import { createUserRecord } from '../../../server/accounts/admin.js';

export const NORMAL_USER = { username: 'steady', password: 'steady-password-1' };

/** Register the fuzz methods and publications (before `listen()`). */
export function installFuzzApp(server: GuardServer): void {
  server.methods({
    'fuzz.echo'(...args: unknown[]) {
      return args;
    },
    'fuzz.add': {
      params: [Number, Number],
      handler(a: number, b: number) {
        return a + b;
      },
    },
    'fuzz.whoami'() {
      return this.userId;
    },
  });
  server.publish('fuzz.pub', function () {
    this.ready();
  });
  server.publish('fuzz.pubString', function () {
    this.ready();
  }, { params: [String] });
}

/** Create the well-behaved client's user (after `listen()`). */
export async function createNormalUser(server: GuardServer): Promise<string> {
  const services = await server.services.get();
  const user = await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: NORMAL_USER.username, password: NORMAL_USER.password });
  return user.id;
}
