/**
 * The `redisUrl` option in one process: validated with the other options, set by `--redis` or
 * `DDP_GUARD_REDIS_URL`, a clear start-up error when Redis does not answer, and both Redis
 * connections (commands, subscriptions) closed by `close()`. The last test needs Redis and is
 * skipped, saying so, without it.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { loadServeConfig } from '../../cli/config.js';
import { CliError } from '../../cli/exit-status.js';
import { createServer, OptionError, resolveOptions, silentLogger } from '../../server/index.js';
import { REDIS_URL, redisProblem } from '../redis/helpers.js';
import { skipBecause } from '../helpers/skip.js';

const BASE = { logger: silentLogger, db: 'memory', secret: '3c'.repeat(32), bcryptCost: 4, passwordWorkers: 1, port: 0, host: '127.0.0.1' } as const;

/** Names of the Redis connections of ddp-guard processes (`ddp-guard:<process id>`), with their counts. */
async function guardConnections(admin: Redis): Promise<Map<string, number>> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  const names = new Map<string, number>();
  for (const line of list.split('\n')) {
    const name = /\bname=(ddp-guard:\S+)/.exec(line)?.[1];
    if (name) names.set(name, (names.get(name) ?? 0) + 1);
  }
  return names;
}

describe('redisUrl (one process)', () => {
  it('accepts redis: and rediss: URLs and null; refuses anything else, naming the option', () => {
    expect(resolveOptions({}).redisUrl).to.equal(null);
    expect(resolveOptions({ redisUrl: 'redis://cache:6379/2' }).redisUrl).to.equal('redis://cache:6379/2');
    expect(resolveOptions({ redisUrl: 'rediss://user:pw@cache:6380' }).redisUrl).to.equal('rediss://user:pw@cache:6380');
    expect(() => resolveOptions({ redisUrl: 'http://cache:6379' })).to.throw(OptionError, /option 'redisUrl': expected a redis: or rediss: URL, got http:/);
    expect(() => resolveOptions({ redisUrl: '' })).to.throw(OptionError, /redisUrl/);
    expect(() => resolveOptions({ redisUrl: 'not a url' })).to.throw(OptionError, /redisUrl/);
    // createServer validates before it makes any connection.
    expect(() => createServer({ ...BASE, redisUrl: 'http://cache' })).to.throw(OptionError, /redisUrl/);
  });

  it('is set by --redis and by DDP_GUARD_REDIS_URL, the flag winning; a bad value names where it came from', () => {
    const fromEnv = loadServeConfig({ argvOptions: {}, env: { DDP_GUARD_REDIS_URL: 'redis://env:6379' }, configFile: null });
    expect(fromEnv.options.redisUrl).to.equal('redis://env:6379');
    expect(fromEnv.warnings).to.deep.equal([]);
    const fromFlag = loadServeConfig({ argvOptions: { redis: 'redis://flag:6379' }, env: { DDP_GUARD_REDIS_URL: 'redis://env:6379' }, configFile: null });
    expect(fromFlag.resolved.redisUrl).to.equal('redis://flag:6379');
    expect(() => loadServeConfig({ argvOptions: { redis: 'memcached://x' }, env: {}, configFile: null })).to.throw(CliError, /option 'redisUrl' from the flag --redis/);
  });

  it('listen() fails with a clear error when Redis does not answer, and close() still works', async () => {
    const server = createServer({ ...BASE, redisUrl: 'redis://127.0.0.1:1' });
    let error: unknown;
    try {
      await server.listen();
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/^Redis at redis:\/\/127\.0\.0\.1:1\/? does not answer \(.*ECONNREFUSED.*\): start it, or check redisUrl \(--redis\)$/);
    await server.close();
  });

  describe('with Redis', () => {
    let admin: Redis | undefined;

    before(async function () {
      const problem = await redisProblem();
      if (problem !== null) {
        skipBecause(this, `Redis does not answer at ${REDIS_URL} (${problem})`);
      }
      admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    });

    after(async () => {
      await admin?.quit();
    });

    it('opens two named connections on listen() (commands, subscriptions) and closes both on close()', async () => {
      const before = await guardConnections(admin!);
      const server = createServer({ ...BASE, redisUrl: REDIS_URL });
      // Nothing connects before listen().
      expect([...(await guardConnections(admin!)).keys()].filter((n) => !before.has(n))).to.deep.equal([]);
      await server.listen();
      const mine = [...(await guardConnections(admin!)).entries()].filter(([name]) => !before.has(name));
      // Another run's process may appear too; ours is the one with both connections.
      const ours = mine.filter(([, count]) => count === 2).map(([name]) => name);
      expect(ours, JSON.stringify(mine)).to.have.length.at.least(1);
      await server.close();
      const after = await guardConnections(admin!);
      for (const name of ours) expect(after.has(name), `${name} still connected after close()`).to.equal(false);
    });
  });
});
