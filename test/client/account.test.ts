/** Logins, the re-login after a reconnect, the login 2FA retry and the account helpers, against a scripted server. */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { createNodeClient, type DdpClient, type DdpClientOptions, type TwoFactorChallenge } from '../../client/node.js';
import { DdpError } from '../../protocol/index.js';
import { FakeDdpServer, type Received } from './support/fake-server.js';
import { delay, nextEvent, settle, waitUntil } from './support/wait.js';

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');
const expires = new Date('2030-01-01T00:00:00Z');

describe('client account (scripted server)', () => {
  let server: FakeDdpServer;
  let clients: DdpClient[] = [];
  /** Resume tokens the fake server accepts. */
  let validTokens: Set<string>;

  function client(options: DdpClientOptions = {}): DdpClient {
    const c = createNodeClient(server.url, { minDelayMs: 10, maxDelayMs: 50, random: () => 0.5, ...options });
    clients.push(c);
    return c;
  }

  function methodsOf(conn: { received: Received[] }): Received[] {
    return conn.received.filter((m) => m.msg === 'method');
  }

  beforeEach(async () => {
    server = await FakeDdpServer.start();
    validTokens = new Set();
    server.method('login', (params) => {
      const arg = params[0] as Record<string, unknown>;
      if (typeof arg.resume === 'string') {
        if (!validTokens.has(arg.resume)) throw new DdpError(403, "You've been logged out by the server. Please log in again.");
        return { id: 'u1', token: arg.resume, tokenExpires: expires, type: 'resume' };
      }
      const token = `t${validTokens.size + 1}`;
      validTokens.add(token);
      return { id: 'u1', token, tokenExpires: expires, type: 'password' };
    });
    server.method('logout', () => undefined);
    server.method('echo', (params) => params[0]);
  });

  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    await server.close();
  });

  it('loginWithPassword sends the sha-256 digest, never the password, and keeps the login', async () => {
    const c = client();
    await c.connect();
    const logins: unknown[] = [];
    c.on('login', (r) => logins.push(r));
    const result = await c.loginWithPassword('alice', 'pässword');
    expect(methodsOf(server.last)[0]!.params).to.deep.equal([{ user: { username: 'alice' }, password: { digest: digest('pässword'), algorithm: 'sha-256' } }]);
    expect(JSON.stringify(server.last.received)).not.to.contain('pässword');
    expect(result).to.deep.equal({ id: 'u1', token: 't1', tokenExpires: expires, type: 'password' });
    expect(c.userId).to.equal('u1');
    expect(c.currentLogin?.token).to.equal('t1');
    expect(logins).to.have.length(1);

    await c.loginWithPassword('alice@example.com', 'x');
    await c.loginWithPassword({ id: 'u1' }, 'x');
    const users = methodsOf(server.last).slice(1).map((m) => (m.params as Array<{ user: unknown }>)[0]!.user);
    expect(users).to.deep.equal([{ email: 'alice@example.com' }, { id: 'u1' }]);
  });

  it('loginWithToken sends {resume}; logout clears the user and emits logout', async () => {
    validTokens.add('pat');
    const c = client();
    await c.connect();
    await c.loginWithToken('pat');
    expect(methodsOf(server.last)[0]!.params).to.deep.equal([{ resume: 'pat' }]);
    expect(c.userId).to.equal('u1');
    const loggedOut = nextEvent(c, 'logout');
    await c.logout();
    await loggedOut;
    expect(methodsOf(server.last)[1]!.method).to.equal('logout');
    expect(c.userId).to.equal(undefined);
  });

  it('after a reconnect, logs in again with the resume token before sending queued calls', async () => {
    const c = client();
    await c.connect();
    await c.loginWithPassword('alice', 'pw');
    // A slow re-login: a queued call sent too early would reach the server first.
    const login = server.methods.get('login')!;
    server.method('login', async (params, conn) => (await delay(50), login(params, conn)));
    server.last.kill();
    await nextEvent(c, 'disconnected');
    // Made while disconnected: must reach the server after the re-login.
    const queued = c.call('echo', 'after');
    await nextEvent(c, 'connected');
    expect(await queued).to.equal('after');
    const second = server.connections[1]!;
    expect(methodsOf(second).map((m) => [m.method, m.params])).to.deep.equal([
      ['login', [{ resume: 't1' }]],
      ['echo', ['after']],
    ]);
    expect(c.userId).to.equal('u1');
  });

  it('forgets a resume token the server refuses, emits logout, and still sends the queue', async () => {
    const c = client();
    await c.connect();
    await c.loginWithPassword('alice', 'pw');
    validTokens.clear();
    server.last.kill();
    await nextEvent(c, 'disconnected');
    const queued = c.call('echo', 1);
    const loggedOut = nextEvent(c, 'logout');
    await nextEvent(c, 'connected');
    await loggedOut;
    expect(await queued).to.equal(1);
    expect(c.userId).to.equal(undefined);
  });

  it('retries a login that needs a second factor as login({totp: {login, code}})', async () => {
    server.methods.delete('login');
    server.method('login', (params) => {
      const arg = params[0] as { totp?: { login: unknown; code: string; method?: string } };
      const details = { method: 'email', codeGenerated: true, availableMethods: ['totp', 'email'], emailOrUsername: 'alice' };
      if (!arg.totp) throw new DdpError('totp-required', 'TOTP Required', details);
      if (arg.totp.code !== '654321') throw new DdpError('totp-invalid', 'TOTP Invalid', { ...details, codeGenerated: false });
      return { id: 'u1', token: 'tok', tokenExpires: expires };
    });
    const challenges: TwoFactorChallenge[] = [];
    const c = client({
      onTwoFactorRequired: (ch) => {
        challenges.push(ch);
        return ch.attempt === 1 ? { code: '000000' } : { code: '654321', method: 'totp' };
      },
    });
    await c.connect();
    const result = await c.loginWithPassword('alice', 'pw');
    expect(result.token).to.equal('tok');
    const original = { user: { username: 'alice' }, password: { digest: digest('pw'), algorithm: 'sha-256' } };
    expect(methodsOf(server.last).map((m) => m.params)).to.deep.equal([
      [original],
      // email is not the server's default (totp, first available): it is named.
      [{ totp: { login: original, code: '000000', method: 'email' } }],
      [{ totp: { login: original, code: '654321', method: 'totp' } }],
    ]);
    expect(challenges.map((ch) => [ch.method, ch.attempt, ch.isRetryAfterInvalid, ch.emailCodeSent])).to.deep.equal([
      ['login', 1, false, true],
      ['login', 2, true, false],
    ]);
    expect(challenges[0]!.details.emailOrUsername).to.equal('alice');
  });

  it('account helpers call the built-in method names with their arguments', async () => {
    const answers: Record<string, unknown> = {
      '2fa:enable': { secret: 'JBSWY3DPEHPK3PXP', url: 'otpauth://totp/x' },
      '2fa:validateTempToken': { codes: ['a', 'b'] },
      '2fa:disable': true,
      '2fa:regenerateCodes': { codes: ['c'] },
      '2fa:checkCodesRemaining': { remaining: 7 },
      '2fa:enableEmail': true,
      '2fa:disableEmail': true,
      '2fa:sendEmailCode': 'alice@example.com',
      'personalAccessTokens:generateToken': 'secret-token',
      'personalAccessTokens:regenerateToken': { token: 'new-token' },
      'personalAccessTokens:removeToken': undefined,
      'personalAccessTokens:list': { tokens: [{ name: 'ci', bypassTwoFactor: true }] },
    };
    for (const [name, answer] of Object.entries(answers)) server.method(name, () => answer);
    const c = client();
    await c.connect();
    const a = c.account;
    expect(await a.enableTotp()).to.deep.equal({ secret: 'JBSWY3DPEHPK3PXP', url: 'otpauth://totp/x' });
    expect(await a.confirmTotp('111111')).to.deep.equal(['a', 'b']);
    await a.disableTotp('222222');
    expect(await a.regenerateBackupCodes('333333')).to.deep.equal(['c']);
    expect(await a.backupCodesRemaining()).to.equal(7);
    await a.enableEmailCodes();
    await a.disableEmailCodes();
    await a.sendEmailCode('alice@example.com');
    expect(await a.createAccessToken('ci', { bypassTwoFactor: true })).to.equal('secret-token');
    expect(await a.regenerateAccessToken('ci')).to.equal('new-token');
    await a.removeAccessToken('ci');
    expect(await a.listAccessTokens()).to.deep.equal([{ name: 'ci', bypassTwoFactor: true }]);
    expect(methodsOf(server.last).map((m) => [m.method, m.params])).to.deep.equal([
      ['2fa:enable', []],
      ['2fa:validateTempToken', ['111111']],
      ['2fa:disable', ['222222']],
      ['2fa:regenerateCodes', ['333333']],
      ['2fa:checkCodesRemaining', []],
      ['2fa:enableEmail', []],
      ['2fa:disableEmail', []],
      ['2fa:sendEmailCode', [{ emailOrUsername: 'alice@example.com' }]],
      ['personalAccessTokens:generateToken', [{ tokenName: 'ci', bypassTwoFactor: true }]],
      ['personalAccessTokens:regenerateToken', [{ tokenName: 'ci' }]],
      ['personalAccessTokens:removeToken', [{ tokenName: 'ci' }]],
      ['personalAccessTokens:list', []],
    ]);
    server.methods.set('2fa:enable', () => 'nope');
    const bad = await settle(a.enableTotp());
    expect((bad as { error: DdpError }).error.error).to.equal('bad-response');
  });
});

describe('client calls (scripted server)', () => {
  let server: FakeDdpServer;
  let clients: DdpClient[] = [];

  function client(options: DdpClientOptions = {}): DdpClient {
    const c = createNodeClient(server.url, { minDelayMs: 10, maxDelayMs: 50, random: () => 0.5, ...options });
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    server = await FakeDdpServer.start();
    server.method('echo', (params) => params[0]);
  });

  afterEach(async () => {
    for (const c of clients) c.close();
    clients = [];
    await server.close();
  });

  it('queues calls made before connect, up to maxQueuedCalls; beyond that rejects at once', async () => {
    const c = client({ maxQueuedCalls: 2 });
    const first = c.call('echo', 1);
    const second = c.call('echo', 2);
    const third = await settle(c.call('echo', 3));
    expect((third as { error: DdpError }).error.error).to.equal('queue-full');
    await c.connect();
    expect(await Promise.all([first, second])).to.deep.equal([1, 2]);
  });

  it('waitForUpdated resolves only after both result and updated', async () => {
    const c = client();
    await c.connect();
    let done = false;
    const call = c.apply('slow', [], { waitForUpdated: true }).then((r) => ((done = true), r));
    await waitUntil(() => server.all('method').length === 1, 'the call');
    const id = server.all('method')[0]!.id;
    server.last.send({ msg: 'result', id, result: 0 });
    await delay(30);
    expect(done).to.equal(false);
    server.last.send({ msg: 'updated', methods: [id] });
    expect(await call).to.equal(0);
  });

  it('in flight at a drop: sent again after the reconnect, except calls made with retryable: false', async () => {
    const c = client();
    await c.connect();
    const lost = settle(c.apply('hang', [], { retryable: false }));
    // Not answered on the first connection: the method is only registered below for the retry.
    const retried = c.call('later');
    await waitUntil(() => server.all('method').length === 2, 'two calls in flight');
    server.method('later', () => 'retried');
    server.last.kill();
    const outcome = await lost;
    expect((outcome as { error: DdpError }).error).to.be.instanceOf(DdpError).with.property('error', 'connection-lost');
    expect(await retried).to.equal('retried');
    expect(server.connections[1]!.received.filter((m) => m.msg === 'method').map((m) => m.method)).to.deep.equal(['later']);
  });

  it('times out a call with a clear error, and ignores its late result', async () => {
    const c = client();
    await c.connect();
    const outcome = await settle(c.apply('hang', [], { timeoutMs: 50 }));
    const error = (outcome as { error: DdpError }).error;
    expect(error.error).to.equal('timeout');
    expect(error.reason).to.equal("Method 'hang' timed out after 50 ms");
    server.last.send({ msg: 'result', id: server.all('method')[0]!.id, result: 'late' });
    expect(await c.call('echo', 'fine')).to.equal('fine');
  });

  it('rejects a call whose parameters cannot be encoded, and throws for such a subscription', async () => {
    const c = client();
    await c.connect();
    const outcome = await settle(c.call('echo', 10n));
    expect((outcome as { error: Error }).error).to.be.instanceOf(TypeError).with.property('message').that.matches(/'echo' cannot be sent as EJSON/);
    expect(() => c.subscribe('things', 10n)).to.throw(TypeError, /'things'/);
    expect(await c.call('echo', 'fine')).to.equal('fine');
  });

  it('close() rejects pending and later calls with client-closed', async () => {
    const c = client();
    await c.connect();
    const pending = settle(c.call('hang'));
    c.close();
    expect((await pending as { error: DdpError }).error.error).to.equal('client-closed');
    expect((await settle(c.call('echo', 1)) as { error: DdpError }).error.error).to.equal('client-closed');
  });
});
