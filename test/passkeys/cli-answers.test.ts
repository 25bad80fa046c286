/**
 * `call` and `shell` cannot answer a passkey (no WebAuthn in a terminal): they offer the
 * user's other factors, or say that the passkey needs a browser.
 */
import { expect } from 'chai';
import { twoFactorHandler } from '../../cli/remote.js';
import { CliError } from '../../cli/exit-status.js';
import { DdpError, type TwoFactorMethod } from '../../protocol/index.js';
import type { TwoFactorChallenge } from '../../client/index.js';

const challenge = (availableMethods: TwoFactorMethod[]): TwoFactorChallenge => ({
  details: { method: 'passkey', codeGenerated: false, availableMethods, passkeyOptions: { challenge: 'abc' } },
  method: 'rooms.delete',
  attempt: 1,
  isRetryAfterInvalid: false,
  emailCodeSent: false,
  error: new DdpError('totp-required', 'TOTP Required'),
});

describe('CLI: a passkey challenge', () => {
  it('is answered with the authenticator app when the user has one', async () => {
    expect(await twoFactorHandler({ code: '123456' })(challenge(['passkey', 'totp']))).to.deep.equal({ code: '123456', method: 'totp' });
  });

  it('switches to email codes (the server then sends one and asks again)', async () => {
    expect(await twoFactorHandler({})(challenge(['passkey', 'email']))).to.deep.equal({ code: '', method: 'email' });
  });

  it('says the passkey needs a browser when the user has no other factor', async () => {
    let caught: unknown;
    try {
      await twoFactorHandler({ code: '123456' })(challenge(['passkey']));
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(CliError);
    expect((caught as Error).message).to.match(/'rooms\.delete' asks for a passkey, which needs a browser/);
  });
});
