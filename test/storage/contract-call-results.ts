/**
 * Contract tests: the outcomes of recent calls, so a re-sent call (same user, same seed) runs
 * once. Claiming is the atomic step: of many callers exactly one owns the call.
 */
import { expect } from 'chai';
import { at, countWinners, T0, type StoreGetter } from './helpers.js';

const WINDOW = 60_000;

/** Defines the `callResults` tests. */
export function callResultContract(store: StoreGetter): void {
  describe('callResults', () => {
    const claim = (user: string, seed: string, now = T0) => store().callResults.claim(user, seed, now, new Date(now.getTime() + WINDOW));

    it('claims a new key once; later claims see it running, then done with its outcome', async () => {
      expect(await claim('u1', 's1')).to.deep.equal({ state: 'claimed' });
      expect(await claim('u1', 's1', at(5))).to.deep.equal({ state: 'running', claimedAt: T0 });
      expect(await store().callResults.get('u1', 's1', at(5))).to.deep.equal({ state: 'running', claimedAt: T0 });
      expect(await store().callResults.complete('u1', 's1', '{"result":1}')).to.equal(true);
      expect(await store().callResults.complete('u1', 's1', '{"result":2}')).to.equal(false);
      expect(await claim('u1', 's1', at(10))).to.deep.equal({ state: 'done', outcome: '{"result":1}' });
      expect(await store().callResults.get('u1', 's1', at(10))).to.deep.equal({ state: 'done', outcome: '{"result":1}' });
    });

    it('keys by user and seed: another user with the same seed, or another seed, is separate', async () => {
      expect((await claim('u1', 'same')).state).to.equal('claimed');
      expect((await claim('u2', 'same')).state).to.equal('claimed');
      expect((await claim('u1', 'other')).state).to.equal('claimed');
      await store().callResults.complete('u2', 'same', 'two');
      expect(await store().callResults.get('u1', 'same', T0)).to.deep.equal({ state: 'running', claimedAt: T0 });
      expect(await store().callResults.get('u2', 'same', T0)).to.deep.equal({ state: 'done', outcome: 'two' });
      expect(await store().callResults.get('u3', 'same', T0)).to.equal(null);
    });

    it('exactly one of many concurrent claims wins', async () => {
      const winners = await countWinners(20, async () => (await claim('u1', 'race')).state === 'claimed');
      expect(winners).to.equal(1);
    });

    it('release forgets a running claim (it may be claimed again) but never a done one', async () => {
      await claim('u1', 'r');
      await store().callResults.release('u1', 'r');
      expect(await store().callResults.get('u1', 'r', T0)).to.equal(null);
      expect(await store().callResults.complete('u1', 'r', 'late')).to.equal(false);
      expect((await claim('u1', 'r')).state).to.equal('claimed');
      await store().callResults.complete('u1', 'r', 'kept');
      await store().callResults.release('u1', 'r');
      expect(await store().callResults.get('u1', 'r', T0)).to.deep.equal({ state: 'done', outcome: 'kept' });
    });

    it('an entry past its window is absent: get finds nothing, a claim replaces it, removeExpired deletes it', async () => {
      await claim('u1', 'old');
      await store().callResults.complete('u1', 'old', 'first');
      await claim('u1', 'gone');
      expect(await store().callResults.get('u1', 'old', at(WINDOW))).to.equal(null);
      expect(await claim('u1', 'old', at(WINDOW))).to.deep.equal({ state: 'claimed' });
      expect(await store().callResults.get('u1', 'old', at(WINDOW))).to.deep.equal({ state: 'running', claimedAt: at(WINDOW) });
      expect(await store().callResults.removeExpired(at(WINDOW - 1))).to.equal(0);
      expect(await store().callResults.removeExpired(at(WINDOW))).to.equal(1);
      expect(await store().callResults.get('u1', 'gone', T0)).to.equal(null);
      expect(await store().callResults.get('u1', 'old', at(WINDOW))).to.not.equal(null);
    });

    it('keeps an outcome exactly, whatever its characters', async () => {
      const text = JSON.stringify({ result: { s: 'é\u0000✓', n: [1, 2.5, null] } });
      await claim('u1', 'x');
      await store().callResults.complete('u1', 'x', text);
      expect(await claim('u1', 'x')).to.deep.equal({ state: 'done', outcome: text });
    });
  });
}
