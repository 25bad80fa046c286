/**
 * The bench's application for the `shipped` scenario, loaded the way a user's is:
 * `ddp-guard serve --app dist/bench/servers/shipped-app.js`. Everything else is `serve`'s
 * defaults (SQLite file under ./data of the working directory, `info` logging to stderr,
 * metrics, health checks, the account page). It registers the same `echo` and `echo.guarded`
 * as bench/servers/ddp.ts, creates the `bench` user on first start, and answers the bench's
 * `gc` message (the process runs with `--expose-gc`, like every bench server).
 */
import type { GuardServer } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { answerBenchMessages } from './ipc.js';

export default async function shippedBenchApp(server: GuardServer): Promise<void> {
  server.methods({
    echo(...params: unknown[]) {
      return params;
    },
    'echo.guarded': {
      twoFactor: true,
      handler(...params: unknown[]) {
        return params;
      },
    },
  });
  const services = await server.services.get();
  if (!(await services.store.users.findByUsername('bench'))) {
    await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'bench', email: 'bench@example.com', password: 'bench-password', verified: true });
  }
  answerBenchMessages();
}
