/**
 * ddp-guard serving `echo` (plain) and `echo.guarded` (behind the 2FA guard), with one user
 * `bench` / `bench-password` for the login and trusted-session scenarios.
 */
import { createServer, silentLogger } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';

const heartbeatArg = process.argv.indexOf('--heartbeat-ms');
const heartbeatMs = heartbeatArg >= 0 ? Number(process.argv[heartbeatArg + 1]) : 15_000;

const server = createServer({
  heartbeatIntervalMs: heartbeatMs,
  heartbeatTimeoutMs: heartbeatMs,
  port: 0,
  db: ':memory:',
  logger: silentLogger,
  // The bench measures throughput, not the accounts rate limit.
  accountsRateLimitCount: 1_000_000,
  maxMethodsInFlight: 1000,
});
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
await server.listen();
const services = await server.services.get();
await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'bench', email: 'bench@example.com', password: 'bench-password', verified: true });
process.stdout.write(`ready ${server.address()!.port}\n`);
process.on('message', (m) => {
  if (m === 'gc' && global.gc) global.gc();
});
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
