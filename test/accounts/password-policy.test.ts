/**
 * The password policy over real sockets and through the CLI: a minimum length
 * (`passwordMinLength`, 8 by default) and a refusal of the most common passwords
 * (`refuseCommonPasswords`), for `createUser`, `changePassword`, `resetPassword` and
 * `ddp-guard user add|passwd`, each with the catalogue error naming the rule.
 */
import { expect } from 'chai';
import path from 'node:path';
import { METHOD_ERRORS } from '../../protocol/errors.js';
import { COMMON_PASSWORD_COUNT, passwordPolicyViolation } from '../../server/accounts/password-policy.js';
import { stopServers } from '../helpers/server.js';
import { ClientPool } from '../helpers/ddp.js';
import { SmtpSink, tokenInMail } from '../helpers/smtp-sink.js';
import { runInProcess } from '../cli-client/support.js';
import { addUser, meteorPassword, removeTempDirs, startAccountsServer, tempDir } from './support.js';

const TOO_SHORT = { error: METHOD_ERRORS.passwordTooShort.error, reason: 'The password must be at least 8 characters long', details: { rule: 'minLength', minLength: 8 } };
const TOO_COMMON = { error: METHOD_ERRORS.passwordTooCommon.error, reason: METHOD_ERRORS.passwordTooCommon.reason, details: { rule: 'common' } };

describe('accounts: password policy', function () {
  const pool = new ClientPool();
  let sink: SmtpSink;
  let smtpUrl: string;
  beforeEach(async () => {
    sink = new SmtpSink();
    smtpUrl = (await sink.start()).url;
  });
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
    await sink.stop();
    removeTempDirs();
  });

  it('the rules: length in characters, the common list in plain text (any case) and as a digest', async () => {
    const policy = { minLength: 8, refuseCommon: true };
    expect(await passwordPolicyViolation(policy, 'short')).to.deep.equal({ rule: 'minLength', minLength: 8 });
    expect(await passwordPolicyViolation(policy, 'ééééééé')).to.deep.equal({ rule: 'minLength', minLength: 8 });
    expect(await passwordPolicyViolation(policy, 'éééééééé')).to.equal(null);
    for (const common of ['password1', 'PASSWORD1', 'iloveyou', '12345678', 'qwertyuiop']) {
      expect(await passwordPolicyViolation(policy, common), common).to.deep.equal({ rule: 'common' });
      expect(await passwordPolicyViolation(policy, { digest: meteorPassword(common.toLowerCase()).digest }), `${common} as a digest`).to.deep.equal({ rule: 'common' });
    }
    expect(await passwordPolicyViolation(policy, 'correct horse battery staple')).to.equal(null);
    expect(await passwordPolicyViolation(policy, { digest: meteorPassword('ab').digest }), 'a digest has no length').to.equal(null);
    expect(await passwordPolicyViolation({ minLength: 4, refuseCommon: false }, 'password')).to.equal(null);
    expect(COMMON_PASSWORD_COUNT).to.equal(10_000);
  });

  it('createUser: too short (plain) and too common (plain or digest) are refused with the catalogue errors; nothing is created', async () => {
    const { services, url } = await startAccountsServer({ signup: true });
    const client = await pool.connect(url);
    expect((await client.call('createUser', { username: 'amy', password: 'short' })).error).to.deep.include(TOO_SHORT);
    expect((await client.call('createUser', { username: 'amy', password: 'password1' })).error).to.deep.include(TOO_COMMON);
    expect((await client.call('createUser', { username: 'amy', password: meteorPassword('iloveyou') })).error).to.deep.include(TOO_COMMON);
    expect(await services.store.users.findByUsername('amy')).to.equal(null);
    const ok = await client.call('createUser', { username: 'amy', password: meteorPassword('a fine passphrase') });
    expect(ok.error, JSON.stringify(ok.error)).to.equal(undefined);
  });

  it('changePassword and resetPassword check the new password; a refused reset leaves the link usable', async () => {
    const { services, url } = await startAccountsServer({ smtpUrl, passwordMinLength: 12 });
    await addUser(services, { username: 'ben', email: 'ben@example.com', password: 'the old password' });
    const client = await pool.connect(url);
    await client.call('login', { user: { username: 'ben' }, password: meteorPassword('the old password') });
    const short = await client.call('changePassword', meteorPassword('the old password'), 'eleven char');
    expect(short.error).to.deep.include({ ...TOO_SHORT, reason: 'The password must be at least 12 characters long', details: { rule: 'minLength', minLength: 12 } });
    const common = await client.call('changePassword', meteorPassword('the old password'), meteorPassword('1q2w3e4r5t6y'));
    expect(common.error).to.deep.include(TOO_COMMON);
    expect((await client.call('changePassword', meteorPassword('the old password'), 'a new passphrase')).error).to.equal(undefined);

    expect((await (await pool.connect(url)).call('forgotPassword', { email: 'ben@example.com' })).error).to.equal(undefined);
    const token = tokenInMail(await sink.waitFor(), 'Reset your password', /:\n\n([A-Za-z0-9_-]{43,})\n\n/);
    const resetter = await pool.connect(url);
    expect((await resetter.call('resetPassword', token, '1qaz2wsx3edc')).error).to.deep.include(TOO_COMMON);
    const reset = await resetter.call('resetPassword', token, meteorPassword('yet another passphrase'));
    expect(reset.error, JSON.stringify(reset.error)).to.equal(undefined);
  });

  it('ddp-guard user add and passwd refuse with a sentence naming the rule and the option (exit 2)', async () => {
    const db = path.join(tempDir(), 'policy.sqlite');
    const short = await runInProcess(['user', 'add', 'cleo', '--email', 'cleo@example.com', '--password', 'abc', '--db', db]);
    expect(short.code).to.equal(2);
    expect(short.stderr).to.contain('The password must be at least 8 characters long (option passwordMinLength).');
    const common = await runInProcess(['user', 'add', 'cleo', '--email', 'cleo@example.com', '--password', 'sunshine', '--db', db]);
    expect(common.code).to.equal(2);
    expect(common.stderr).to.contain('The password is one of the most common passwords: choose another (option refuseCommonPasswords).');
    const added = await runInProcess(['user', 'add', 'cleo', '--email', 'cleo@example.com', '--password', 'cleo has a long one', '--db', db]);
    expect(added.code, added.stderr).to.equal(0);
    const passwd = await runInProcess(['user', 'passwd', 'cleo', '--password', 'letmein', '--db', db]);
    expect(passwd.code).to.equal(2);
    expect(passwd.stderr).to.contain('at least 8 characters');
  });
});
