/**
 * ddp-guard serving `echo` (plain) and `echo.guarded` (behind the 2FA guard), with one user
 * `bench` / `bench-password` for the login and trusted-session scenarios.
 *
 * Options: `--heartbeat-ms <ms>` (default 15000), `--password-workers <n>` (bcrypt worker
 * threads; default 0, the server's own default of one per core but one, which is 1 when the
 * bench pins this process to one core), `--login-users <n>` (also users `bench-0` … `bench-<n-1>`,
 * same password, for the logins scenario; default 0).
 */
import { createServer, silentLogger } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { answerBenchMessages } from './ipc.js';

const numberArg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const heartbeatMs = numberArg('heartbeat-ms', 15_000);

const server = createServer({
  heartbeatIntervalMs: heartbeatMs,
  heartbeatTimeoutMs: heartbeatMs,
  port: 0,
  db: ':memory:',
  logger: silentLogger,
  // The bench measures throughput, not the accounts rate limit.
  accountsRateLimitCount: 1_000_000,
  maxMethodsInFlight: 1000,
  passwordWorkers: numberArg('password-workers', 0),
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
for (let i = 0; i < numberArg('login-users', 0); i++) {
  await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: `bench-${i}`, email: `bench-${i}@example.com`, password: 'bench-password', verified: true });
}
process.stdout.write(`ready ${server.address()!.port}\n`);
answerBenchMessages();
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
