/**
 * The guard's per-key serializer: one task at a time per key, keys independent, a failure
 * does not block the next task, nothing kept once idle.
 */
import { expect } from 'chai';
import { KeyedSerializer } from '../../server/runtime/serial.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('two-factor: KeyedSerializer', () => {
  it('runs tasks of one key one at a time, in order, and tasks of other keys meanwhile', async () => {
    const serial = new KeyedSerializer();
    const log: string[] = [];
    const gate = deferred();
    const first = serial.run('u1', async () => {
      log.push('a:start');
      await gate.promise;
      log.push('a:end');
      return 'a';
    });
    const second = serial.run('u1', async () => {
      log.push('b');
      return 'b';
    });
    const other = serial.run('u2', async () => {
      log.push('c');
      return 'c';
    });
    expect(await other).to.equal('c');
    expect(log).to.deep.equal(['a:start', 'c']);
    gate.resolve();
    expect(await Promise.all([first, second])).to.deep.equal(['a', 'b']);
    expect(log).to.deep.equal(['a:start', 'c', 'a:end', 'b']);
  });

  it('a rejected task rejects its caller and does not block the next one; idle keys are dropped', async () => {
    const serial = new KeyedSerializer();
    const failing = serial.run('u1', async () => {
      throw new Error('wrong code');
    });
    const next = serial.run('u1', async () => 'next');
    await failing.then(() => expect.fail('should reject'), (err: Error) => expect(err.message).to.equal('wrong code'));
    expect(await next).to.equal('next');
    await new Promise((resolve) => setImmediate(resolve));
    expect(serial.size).to.equal(0);
  });
});
