/**
 * `2fa:passkey:list` and `2fa:passkey:rename` are guarded like the account page's other reads
 * (`sessions:list`, `securityLog:list`): a session that has not proved the second factor
 * recently (a stolen token) gets `totp-required` and learns nothing, renames nothing; the
 * factor passes, and so does a client verified within the trust window.
 */
import { expect } from 'chai';
import { passwordAnswer, startFixture, stopFixtures, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from './soft-authenticator.js';

const passkeyAnswer = (auth: SoftAuthenticator, details: Msg): { twoFactorCode: string; twoFactorMethod: string } =>
  ({ twoFactorCode: JSON.stringify(auth.get(details.passkeyOptions as RequestOptions)), twoFactorMethod: 'passkey' });

describe('passkeys: listing and renaming are account reads', () => {
  let fx: Fixture;
  afterEach(stopFixtures);

  async function enrolled(name: string): Promise<{ client: TestClient; userId: string; auth: SoftAuthenticator; id: string }> {
    const user = await fx.user(name);
    const { client } = await fx.login(name);
    const auth = new SoftAuthenticator(`http://localhost:${new URL(fx.url).port}`);
    const options = (await client.ok('2fa:passkey:registrationOptions')) as CreationOptions;
    // Registering proves the password (no factor yet) and, as a factor change, trusts nobody afterwards.
    const added = (await client.ok('2fa:passkey:register', { name: 'Laptop', response: auth.create(options) }, passwordAnswer(name))) as { id: string };
    return { client, userId: user.id, auth, id: added.id };
  }

  it('without the factor: nothing listed, nothing renamed; with it: both pass', async () => {
    fx = await startFixture({ trustedClientMs: 0 });
    const { client, userId, auth, id } = await enrolled('ann');
    const list = await client.fails('2fa:passkey:list');
    expect(list.error).to.equal('totp-required');
    expect(list.details).to.deep.include({ method: 'passkey', availableMethods: ['passkey'] });
    expect(list).to.not.have.property('result');
    const rename = await client.fails('2fa:passkey:rename', { id, name: 'Stolen' });
    expect(rename.error).to.equal('totp-required');
    // A wrong answer does not pass either (the password is no factor for a user with a passkey).
    expect((await client.fails('2fa:passkey:rename', { id, name: 'Stolen' }, passwordAnswer('ann'))).error).to.match(/^totp-/);
    expect((await fx.services.store.passkeys.list(userId)).map((p) => p.name)).to.deep.equal(['Laptop']);

    const listed = (await client.ok('2fa:passkey:list', passkeyAnswer(auth, (await client.fails('2fa:passkey:list')).details as Msg))) as Msg[];
    expect(listed.map((p) => p.name)).to.deep.equal(['Laptop']);
    expect(await client.ok('2fa:passkey:rename', { id, name: 'Work laptop' }, passkeyAnswer(auth, (await client.fails('2fa:passkey:rename', { id, name: 'x' })).details as Msg))).to.equal(true);
    expect((await fx.services.store.passkeys.list(userId)).map((p) => p.name)).to.deep.equal(['Work laptop']);
    // No trust window here: the next read asks again.
    expect((await client.fails('2fa:passkey:list')).error).to.equal('totp-required');
  });

  it('a client verified within the trust window lists and renames without being asked again', async () => {
    fx = await startFixture();
    const { client, userId, auth, id } = await enrolled('bea');
    expect((await client.fails('2fa:passkey:list')).error).to.equal('totp-required');
    await client.ok('app.echo', passkeyAnswer(auth, (await client.fails('app.echo')).details as Msg));
    expect(((await client.ok('2fa:passkey:list')) as Msg[]).map((p) => p.id)).to.deep.equal([id]);
    expect(await client.ok('2fa:passkey:rename', { id, name: 'Phone' })).to.equal(true);
    expect((await fx.services.store.passkeys.list(userId))[0]!.name).to.equal('Phone');
  });
});
