/** The two-factor retry loop, driven by a scripted `invoke` (no socket). */
import { expect } from 'chai';
import { DdpError, type TwoFactorErrorDetails } from '../../protocol/index.js';
import { callWithTwoFactor, retryParams, retryWithTwoFactor, type TwoFactorAnswer, type TwoFactorChallenge } from '../../client/two-factor.js';
import { settle } from './support/wait.js';

const details: TwoFactorErrorDetails = { method: 'totp', codeGenerated: false, availableMethods: ['totp', 'email'] };
const required = (): DdpError => new DdpError('totp-required', 'TOTP Required', details);
const invalid = (): DdpError => new DdpError('totp-invalid', 'TOTP Invalid', details);

/** An invoke that fails with the given errors in turn, then returns 'ok'; it records the params. */
function scripted(errors: DdpError[]): { invoke: (p: unknown[]) => Promise<unknown>; calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    invoke: async (params) => {
      calls.push(params);
      const error = errors.shift();
      if (error) throw error;
      return 'ok';
    },
  };
}

describe('client two-factor retry (unit)', () => {
  it('appends {twoFactorCode, twoFactorMethod} as the last parameter', () => {
    expect(retryParams('rooms.delete', ['r1', 0], { code: '123456' }, details)).to.deep.equal(['r1', 0, { twoFactorCode: '123456', twoFactorMethod: 'totp' }]);
    expect(retryParams('x', [], { code: '1', method: 'email' }, details)).to.deep.equal([{ twoFactorCode: '1', twoFactorMethod: 'email' }]);
  });

  it('wraps a login as {totp: {login, code}}, with method only when another factor was picked', () => {
    const login = { user: { username: 'a' }, password: { digest: 'd', algorithm: 'sha-256' } };
    expect(retryParams('login', [login], { code: '1' }, details)).to.deep.equal([{ totp: { login, code: '1' } }]);
    expect(retryParams('login', [login], { code: '1', method: 'totp' }, details)).to.deep.equal([{ totp: { login, code: '1' } }]);
    expect(retryParams('login', [login], { code: '1', method: 'email' }, details)).to.deep.equal([{ totp: { login, code: '1', method: 'email' } }]);
  });

  it('asks, retries, and reports isRetryAfterInvalid and the attempt number', async () => {
    const { invoke, calls } = scripted([required(), invalid()]);
    const challenges: TwoFactorChallenge[] = [];
    const result = await callWithTwoFactor('m', ['a'], invoke, {
      maxAttempts: 3,
      handler: (c) => {
        challenges.push(c);
        return { code: c.attempt === 1 ? '000000' : '123456' };
      },
    });
    expect(result).to.equal('ok');
    expect(calls).to.deep.equal([['a'], ['a', { twoFactorCode: '000000', twoFactorMethod: 'totp' }], ['a', { twoFactorCode: '123456', twoFactorMethod: 'totp' }]]);
    expect(challenges.map((c) => [c.attempt, c.isRetryAfterInvalid, c.method, c.emailCodeSent])).to.deep.equal([[1, false, 'm', false], [2, true, 'm', false]]);
    expect(challenges[0]!.details).to.deep.equal(details);
  });

  it('stops after maxAttempts codes with the last error', async () => {
    const { invoke, calls } = scripted([required(), invalid(), invalid(), invalid(), invalid()]);
    const outcome = await settle(callWithTwoFactor('m', [], invoke, { maxAttempts: 2, handler: () => ({ code: '1' }) }));
    expect(outcome.ok).to.equal(false);
    expect((outcome as { error: DdpError }).error.error).to.equal('totp-invalid');
    expect(calls).to.have.length(3);
  });

  it('stops at once on totp-max-attempts, and cancels on null', async () => {
    const locked = new DdpError('totp-max-attempts', 'TOTP Maximun Failed Attempts Reached', { ...details, lockedFor: 60_000 });
    const a = scripted([required(), locked]);
    const first = await settle(callWithTwoFactor('m', [], a.invoke, { maxAttempts: 5, handler: () => ({ code: '1' }) }));
    expect((first as { error: DdpError }).error).to.equal(locked);
    expect(a.calls).to.have.length(2);

    const b = scripted([required()]);
    const second = await settle(callWithTwoFactor('m', [], b.invoke, { maxAttempts: 5, handler: () => null }));
    expect((second as { error: DdpError }).error).to.be.instanceOf(DdpError).with.property('error', 'two-factor-cancelled');
    expect(b.calls).to.have.length(1);
  });

  it('retryWithTwoFactor (the loop DDP calls and the HTTP client share): a code given up front is tried first, then each answer with the details that asked for it', async () => {
    const seen: [TwoFactorAnswer | undefined, TwoFactorErrorDetails | undefined][] = [];
    const errors = [invalid(), invalid()];
    const outcome = await settle(retryWithTwoFactor('login', async (answer, asked) => {
      seen.push([answer, asked]);
      const error = errors.shift();
      if (error) throw error;
      return 'in';
    }, { maxAttempts: 1, handler: () => ({ code: '2', method: 'email' }) }, { code: '1' }));
    // One code up front, then maxAttempts (1) more from the handler: the second invalid ends it.
    expect(seen).to.deep.equal([[{ code: '1' }, undefined], [{ code: '2', method: 'email' }, details]]);
    expect((outcome as { error: DdpError }).error).to.be.instanceOf(DdpError).with.property('error', 'totp-invalid');
  });

  it('reports emailCodeSent when the server just mailed a code', async () => {
    const mailed = new DdpError('totp-required', 'TOTP Required', { method: 'email', codeGenerated: true, availableMethods: ['email'], codeExpires: new Date(0) });
    const { invoke } = scripted([mailed]);
    let seen: TwoFactorChallenge | undefined;
    await callWithTwoFactor('m', [], invoke, { maxAttempts: 3, handler: (c) => ((seen = c), { code: '1' }) });
    expect(seen?.emailCodeSent).to.equal(true);
    expect(seen?.details.codeExpires).to.deep.equal(new Date(0));
  });

  it('without a handler, two-factor errors reach the caller unchanged', async () => {
    const err = required();
    const { invoke } = scripted([err]);
    const outcome = await settle(callWithTwoFactor('m', [], invoke, { maxAttempts: 3, handler: undefined }));
    expect((outcome as { error: unknown }).error).to.equal(err);
  });
});
