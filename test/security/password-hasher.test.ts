import { expect } from 'chai';
import bcrypt from 'bcryptjs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  createPasswordHasher,
  passwordDigest,
  PasswordHasherBusyError,
  type PasswordHasher,
} from '../../server/security/password-hasher.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return expect.fail('expected the promise to reject');
}

describe('accounts/password-hasher', () => {
  const right = passwordDigest('correct horse battery staple');
  const wrong = passwordDigest('Correct horse battery staple');
  let hasher: PasswordHasher;

  beforeEach(() => {
    hasher = createPasswordHasher({ cost: 4, size: 2 });
  });
  afterEach(async () => {
    await hasher.close();
  });

  it('passwordDigest is the sha-256 hex of the password', () => {
    expect(passwordDigest('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes with bcrypt at the configured cost and compares right and wrong digests', async () => {
    const hash = await hasher.hash(right);
    expect(hash).to.match(/^\$2[ab]\$04\$/);
    expect(await hasher.compare(right, hash)).to.equal(true);
    expect(await hasher.compare(wrong, hash)).to.equal(false);
    expect(await hasher.compare(right.toUpperCase(), hash)).to.equal(true);
    expect(await hasher.hash(right)).to.not.equal(hash); // fresh salt
  });

  it('verifies hashes made by bcryptjs directly, as Meteor stores them ($2a$ and $2b$)', async () => {
    const b = bcrypt.hashSync(right, 10);
    const a = bcrypt.hashSync(right, '$2a$10$' + 'abcdefghijklmnopqrstuv');
    expect(a.startsWith('$2a$10$')).to.equal(true);
    for (const hash of [a, b]) {
      expect(await hasher.compare(right, hash)).to.equal(true);
      expect(await hasher.compare(wrong, hash)).to.equal(false);
    }
    // And the other way: what the pool writes, plain bcryptjs (so Meteor) accepts.
    expect(bcrypt.compareSync(right, await hasher.hash(right))).to.equal(true);
  });

  it('refuses plain passwords and malformed hashes', async () => {
    expect(await rejection(hasher.hash('hunter2'))).to.be.instanceOf(TypeError);
    expect(await rejection(hasher.compare('hunter2', bcrypt.hashSync(right, 4)))).to.be.instanceOf(TypeError);
    expect(await rejection(hasher.compare(right, 'not-a-hash'))).to.be.instanceOf(TypeError);
  });

  it('queues beyond the pool size and fails fast when the queue is full', async () => {
    const small = createPasswordHasher({ cost: 8, size: 1, maxQueue: 2 });
    try {
      const running = [small.hash(right), small.hash(right), small.hash(right)];
      expect(small.queueLength()).to.equal(2);
      expect(await rejection(small.hash(right))).to.be.instanceOf(PasswordHasherBusyError);
      const hashes = await Promise.all(running);
      expect(hashes).to.have.length(3);
      expect(small.queueLength()).to.equal(0);
    } finally {
      await small.close();
    }
  });

  it('close() rejects waiting jobs and later calls', async () => {
    const h = createPasswordHasher({ cost: 8, size: 1 });
    const jobs = [h.hash(right), h.hash(right), h.hash(right)].map((p) => rejection(p));
    await h.close();
    for (const err of await Promise.all(jobs)) expect((err as Error).message).to.match(/closed/);
    expect(((await rejection(h.hash(right))) as Error).message).to.match(/closed/);
  });

  it('defaults to cost 10', async () => {
    const h = createPasswordHasher({ size: 1 });
    try {
      expect(await h.hash(right)).to.match(/^\$2[ab]\$10\$/);
    } finally {
      await h.close();
    }
    expect(() => createPasswordHasher({ cost: 3 })).to.throw(RangeError);
    expect(() => createPasswordHasher({ size: 0 })).to.throw(RangeError);
  });

  it('keeps the event loop responsive while 10 hashes run', async function () {
    this.timeout(60_000);
    // One worker leaves a core for the event loop even on a 2-CPU machine. Cost 12 makes one
    // hash (~0.3 s) far longer than scheduler noise on a busy machine.
    const h = createPasswordHasher({ cost: 12, size: 1 });
    try {
      await h.hash(right); // spawn and warm up the worker
      const t0 = performance.now();
      await h.hash(right);
      const oneHash = performance.now() - t0;

      // Control: what bcrypt on the event loop looks like (after the probes have started).
      const blocked = await measureLoop(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        bcrypt.hashSync(right, 12);
      });
      expect(blocked.maxDelay, 'the probe sees a blocked loop').to.be.greaterThan(oneHash / 2);

      const started = performance.now();
      const pooled = await measureLoop(() => Promise.all(Array.from({ length: 10 }, () => h.hash(right))));
      const total = performance.now() - started;

      const report = `setImmediate p90 ${pooled.p90Immediate.toFixed(1)} ms (max ${pooled.maxImmediate.toFixed(1)}), loop delay p90 ${pooled.p90Delay.toFixed(1)} ms (max ${pooled.maxDelay.toFixed(1)}), one bcrypt ${oneHash.toFixed(1)} ms`;
      expect(total, 'the hashes really ran during the measurement').to.be.greaterThan(oneHash * 5);
      expect(pooled.probes, report).to.be.greaterThan(20);
      // The 90th percentiles, not the maxima: a busy machine may stall this process once for
      // as long as a hash; hashing on the loop would delay most probes (the control above).
      expect(pooled.p90Immediate, report).to.be.lessThan(oneHash / 3);
      expect(pooled.p90Delay, report).to.be.lessThan(oneHash / 3);
    } finally {
      await h.close();
    }
  });
});

/**
 * Runs `work` while probing the event loop every 10 ms: how long a setImmediate waits, and
 * the loop delay histogram. Probing (rather than spinning) lets the main thread sleep, so
 * other processes on a busy CI machine add little noise.
 */
async function measureLoop(work: () => Promise<unknown>): Promise<{ maxImmediate: number; p90Immediate: number; maxDelay: number; p90Delay: number; probes: number }> {
  let maxImmediate = 0;
  let probes = 0;
  const waits: number[] = [];
  const timer = setInterval(() => {
    const asked = performance.now();
    setImmediate(() => {
      probes++;
      waits.push(performance.now() - asked);
      maxImmediate = Math.max(maxImmediate, performance.now() - asked);
    });
  }, 10);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, 30)); // let the last probes report
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
  const sorted = waits.sort((a, b) => a - b);
  const p90Immediate = sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length * 0.9)]!;
  return { maxImmediate, p90Immediate, maxDelay: histogram.max / 1e6, p90Delay: histogram.percentile(90) / 1e6, probes };
}
