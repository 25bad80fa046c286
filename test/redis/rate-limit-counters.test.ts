/**
 * RedisRateLimitCounters against a real Redis: counts from two connections (two processes)
 * add up, windows reset, keys are prefixed and expire, and RateLimiter enforces one limit
 * across two limiters. Skipped, saying so, when Redis does not answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { RedisRateLimitCounters } from '../../server/redis/rate-limit-counters.js';
import { RateLimiter, type RateLimitInput } from '../../server/calls/rate-limit.js';
import { deleteKeys, randomPrefix, skipWithoutRedis, testClient } from './helpers.js';

describe('RedisRateLimitCounters', function () {
  const prefix = randomPrefix();
  let one: Redis | undefined;
  let two: Redis | undefined;
  let a: RedisRateLimitCounters;
  let b: RedisRateLimitCounters;

  before(async function () {
    await skipWithoutRedis(this);
    one = testClient();
    two = testClient();
    a = new RedisRateLimitCounters(one, { prefix });
    b = new RedisRateLimitCounters(two, { prefix });
  });

  after(async () => {
    if (one) await deleteKeys(one, prefix);
    await Promise.all([one?.quit(), two?.quit()]);
  });

  it('adds up hits on the same key from two connections', async () => {
    const now = Date.now();
    const hits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).hit('shared', 60_000, now)));
    // Every hit got its own count: none lost, none counted twice.
    expect(hits.map((h) => h.count).sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    // One window, started by the first hit: the same reset time everywhere (Redis' clock).
    for (const h of hits) expect(h.resetAt).to.be.greaterThan(now + 59_000).and.at.most(now + 60_000);
    expect((await b.hit('shared', 60_000, now)).count).to.equal(21);
  });

  it('counts keys separately, under the prefix, with the window as expiry', async () => {
    const now = Date.now();
    expect((await a.hit('k1', 5_000, now)).count).to.equal(1);
    expect((await a.hit('k1', 5_000, now)).count).to.equal(2);
    expect((await b.hit('k2', 5_000, now)).count).to.equal(1);
    expect(a.redisKey('k1')).to.equal(`${prefix}k1`);
    expect(await one!.get(`${prefix}k1`)).to.equal('2');
    const ttl = await one!.pttl(`${prefix}k1`);
    expect(ttl).to.be.greaterThan(4_000).and.at.most(5_000);
    // Other prefixes are other counters.
    const other = new RedisRateLimitCounters(two!, { prefix: `${prefix}other:` });
    expect((await other.hit('k1', 5_000, now)).count).to.equal(1);
  });

  it('starts a new window once the old one has passed', async () => {
    const first = await a.hit('short', 200, Date.now());
    expect(first.count).to.equal(1);
    expect((await b.hit('short', 200, Date.now())).count).to.equal(2);
    await sleep(300);
    const now = Date.now();
    const fresh = await b.hit('short', 200, now);
    expect(fresh.count).to.equal(1);
    expect(fresh.resetAt).to.be.greaterThan(now + 100).and.at.most(now + 200);
    expect(fresh.resetAt).to.be.greaterThan(first.resetAt);
  });

  it('keeps the window of the first hit when later hits pass a longer one', async () => {
    const now = Date.now();
    await a.hit('first-wins', 1_000, now);
    const later = await b.hit('first-wins', 60_000, now);
    expect(later.count).to.equal(2);
    expect(later.resetAt).to.be.at.most(now + 1_000);
  });

  it('rejects a window that is not a positive integer', async () => {
    for (const w of [0, -5, 1.5]) {
      let err: unknown;
      await a.hit('bad', w, Date.now()).catch((e: unknown) => { err = e; });
      expect(err, `window ${w}`).to.be.instanceOf(RangeError);
    }
    expect(await one!.exists(`${prefix}bad`)).to.equal(0);
  });

  it('lets RateLimiter enforce one limit across two processes', async () => {
    const limiters = [new RateLimiter(a), new RateLimiter(b)];
    for (const l of limiters) l.addRule({ type: 'method', name: 'login', userId: () => true, numRequests: 3, timeIntervalMs: 10_000 });
    const call: RateLimitInput = { type: 'method', name: 'login', userId: 'u1', connectionId: null, clientAddress: null };
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await limiters[i % 2]!.check(call, Date.now()));
    expect(verdicts.map((v) => v.allowed)).to.deep.equal([true, true, true, false, false]);
    expect(verdicts[3]!.timeToReset).to.be.greaterThan(9_000).and.at.most(10_000);
    // Another user has a counter of its own.
    expect((await limiters[0]!.check({ ...call, userId: 'u2' }, Date.now())).allowed).to.equal(true);
  });
});
