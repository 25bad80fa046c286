/**
 * The client's two-factor retry over a real socket to a real server, whose methods are stand-ins
 * that answer like the guard (`totp-required`, `totp-invalid`, `totp-max-attempts`): they let
 * the test script each answer (a lock-out after n wrong codes, odd details) and count what the
 * client sent. Not the guard itself: test/client-e2e/totp.test.ts runs the same retry loop
 * against the real guard.
 */
import { expect } from 'chai';
import { connectNode, type DdpClient, type TwoFactorAnswer, type TwoFactorChallenge } from '../../client/node.js';
import { DdpError, isTwoFactorArgument, type TwoFactorErrorDetails } from '../../protocol/index.js';
import type { DdpServer } from '../../server/index.js';
import { startServer } from './support/real-server.js';
import { settle } from './support/wait.js';

const details: TwoFactorErrorDetails = { method: 'totp', codeGenerated: false, availableMethods: ['totp'] };

describe('client two-factor retry, against guard-like stand-in methods on a real server', () => {
  let server: DdpServer;
  let client: DdpClient;
  /** Parameters of every call the server received, per method. */
  let received: Record<string, unknown[][]>;
  /** The test's answer to each challenge. */
  let answer: (challenge: TwoFactorChallenge) => TwoFactorAnswer | null;
  let challenges: TwoFactorChallenge[];

  /** Like the guard: no code → required; a wrong code → invalid; the right code → run. */
  function guarded(name: string, lockAfterWrong?: number) {
    let wrong = 0;
    return (...params: unknown[]): unknown => {
      (received[name] ??= []).push(params);
      const last = params[params.length - 1];
      if (!isTwoFactorArgument(last)) throw new DdpError('totp-required', 'TOTP Required', details);
      if (last.twoFactorCode === '123456' && last.twoFactorMethod === 'totp') return { ok: true, params: params.slice(0, -1) };
      wrong += 1;
      if (lockAfterWrong !== undefined && wrong >= lockAfterWrong) {
        throw new DdpError('totp-max-attempts', 'TOTP Maximun Failed Attempts Reached', { ...details, lockedFor: 60_000 });
      }
      throw new DdpError('totp-invalid', 'TOTP Invalid', details);
    };
  }

  before(async () => {
    server = await startServer((s) => {
      s.methods({
        guarded: guarded('guarded'),
        locking: guarded('locking', 2),
      });
    });
    client = await connectNode(server.url, {
      onTwoFactorRequired: async (challenge) => {
        challenges.push(challenge);
        return answer(challenge);
      },
    });
  });

  beforeEach(() => {
    received = {};
    challenges = [];
  });

  after(async () => {
    client?.close();
    await server?.close();
  });

  it('asks the callback with the details, then retries with the code as the last parameter', async () => {
    answer = () => ({ code: '123456' });
    const result = await client.call('guarded', 'room-1', 0, false);
    expect(result).to.deep.equal({ ok: true, params: ['room-1', 0, false] });
    expect(received.guarded).to.deep.equal([
      ['room-1', 0, false],
      ['room-1', 0, false, { twoFactorCode: '123456', twoFactorMethod: 'totp' }],
    ]);
    expect(challenges).to.have.length(1);
    const challenge = challenges[0]!;
    expect(challenge.details).to.deep.equal(details);
    expect(challenge.method).to.equal('guarded');
    expect(challenge.attempt).to.equal(1);
    expect(challenge.isRetryAfterInvalid).to.equal(false);
    expect(challenge.emailCodeSent).to.equal(false);
  });

  it('says isRetryAfterInvalid after a wrong code, and succeeds with the right one', async () => {
    answer = (c) => ({ code: c.attempt === 1 ? '000000' : '123456' });
    expect(await client.call('guarded', 'x')).to.deep.equal({ ok: true, params: ['x'] });
    expect(challenges.map((c) => [c.attempt, c.isRetryAfterInvalid])).to.deep.equal([
      [1, false],
      [2, true],
    ]);
    expect(received.guarded).to.have.length(3);
  });

  it('cancels when the callback returns null', async () => {
    answer = () => null;
    const outcome = await settle(client.call('guarded'));
    const error = (outcome as { error: DdpError }).error;
    expect(error).to.be.instanceOf(DdpError);
    expect(error.error).to.equal('two-factor-cancelled');
    expect(received.guarded).to.have.length(1);
  });

  it('gives up after maxTwoFactorAttempts (3) wrong codes with the last error', async () => {
    answer = () => ({ code: '000000' });
    const outcome = await settle(client.call('guarded'));
    const error = (outcome as { error: DdpError }).error;
    expect(error.error).to.equal('totp-invalid');
    expect(error.details).to.deep.equal(details);
    expect(challenges).to.have.length(3);
    expect(received.guarded).to.have.length(4);
  });

  it('stops at once on totp-max-attempts', async () => {
    answer = () => ({ code: '000000' });
    const outcome = await settle(client.call('locking'));
    const error = (outcome as { error: DdpError }).error;
    expect(error.error).to.equal('totp-max-attempts');
    expect((error.details as TwoFactorErrorDetails).lockedFor).to.equal(60_000);
    expect(challenges).to.have.length(2);
    expect(received.locking).to.have.length(3);
  });

  it('passes the challenge to the caller when the call opts out with twoFactor: false', async () => {
    answer = () => ({ code: '123456' });
    const outcome = await settle(client.apply('guarded', [], { twoFactor: false }));
    expect((outcome as { error: DdpError }).error.error).to.equal('totp-required');
    expect(challenges).to.have.length(0);
  });
});
