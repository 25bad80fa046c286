/**
 * `/metrics` scraped over HTTP after scripted sessions: the counters move with the right labels
 * (guard outcomes by factor, method calls by outcome, rate-limit refusals, mail), the gauges
 * read live state, and the options move or remove the endpoint.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import { startServer, stopServers, TEST_SERVER_DEFAULTS } from '../helpers/server.js';
import { createServer, OptionError } from '../../server/index.js';
import { Metrics } from '../../server/observability/metrics.js';
import { METRICS_MAX_CONNECTIONS } from '../../server/observability/index.js';
import type { Mailer } from '../../server/mail/mailer.js';
import { freePort, get, httpBase, parseMetrics, sample, scrape } from './support.js';

describe('observability: metrics', () => {
  afterEach(async () => {
    closeClients();
    await stopFixtures();
    await stopServers();
  });

  describe('after a scripted 2FA session', () => {
    let fx: Fixture;
    let metricsUrl: string;

    beforeEach(async () => {
      fx = await startFixture({ maxFailedAttempts: 2 });
      metricsUrl = `${httpBase(fx.url)}/metrics`;
    });

    it('counts the guard outcomes by factor: required, ok, replay rejected, invalid, locked out', async () => {
      await fx.user('alice');
      const { client } = await fx.login('alice');
      const { secret } = await fx.enrolTotp(client);
      // app.always asks every time (no trusted client).
      expect((await client.fails('app.always')).error).to.equal('totp-required');
      const code = fx.nextTotp(secret);
      expect(await client.ok('app.always', totpAnswer(code))).to.equal('always');
      expect((await client.fails('app.always', totpAnswer(code))).error).to.equal('totp-invalid'); // replay: failure 1 of 2
      expect((await client.fails('app.always', totpAnswer(fx.wrongTotp(secret)))).error).to.equal('totp-max-attempts'); // failure 2: locked
      expect((await client.fails('app.always', totpAnswer(fx.nextTotp(secret)))).error).to.equal('totp-max-attempts'); // refused while locked

      const m = await scrape(metricsUrl);
      expect(m.types.get('ddp_guard_2fa_challenges_total')).to.equal('counter');
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'totp', outcome: 'required' })).to.equal(1);
      // the code confirming the enrolment (2fa:validateTempToken) and the one good answer
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'totp', outcome: 'ok' })).to.equal(2);
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'totp', outcome: 'replay_rejected' })).to.equal(1);
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'totp', outcome: 'invalid' })).to.equal(1);
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'totp', outcome: 'locked_out' })).to.equal(2);

      const calls = (outcome: string): number | undefined => sample(m, 'ddp_guard_method_calls_total', { method: 'app.always', transport: 'ddp', outcome });
      expect(calls('totp-required')).to.equal(1);
      expect(calls('ok')).to.equal(1);
      expect(calls('totp-invalid')).to.equal(1);
      expect(calls('totp-max-attempts')).to.equal(2);
      expect(sample(m, 'ddp_guard_method_calls_total', { method: 'login', transport: 'ddp', outcome: 'ok' })).to.equal(1);
      expect(sample(m, 'ddp_guard_method_calls_total', { method: '2fa:enable', transport: 'ddp', outcome: 'ok' })).to.equal(1);
      expect(m.types.get('ddp_guard_method_duration_seconds')).to.equal('histogram');
      expect(sample(m, 'ddp_guard_method_duration_seconds_count', { method: 'app.always' })).to.equal(5);
      expect(sample(m, 'ddp_guard_method_duration_seconds_bucket', { method: 'app.always', le: '+Inf' })).to.equal(5);
      expect(sample(m, 'ddp_guard_sessions_total')).to.equal(1);
      expect(sample(m, 'ddp_guard_connections_open')).to.equal(1);
      expect(sample(m, 'ddp_guard_sessions_open')).to.equal(1);
    });

    it('counts a trusted client as factor none, and email codes sent', async () => {
      const userId = (await fx.user('bob')).id;
      const { client } = await fx.login('bob');
      await fx.services.store.twoFactor.setEmailEnabled(userId, true);
      expect((await client.fails('app.echo')).details.method).to.equal('email');
      const code = await fx.emailCode('bob@example.com');
      await client.ok('app.echo', { twoFactorCode: code, twoFactorMethod: 'email' });
      await client.ok('app.echo'); // trusted now
      const m = await scrape(metricsUrl);
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'email', outcome: 'required' })).to.equal(1);
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'email', outcome: 'ok' })).to.equal(1);
      expect(sample(m, 'ddp_guard_2fa_challenges_total', { factor: 'none', outcome: 'trusted' })).to.equal(1);
      expect(sample(m, 'ddp_guard_emails_total', { outcome: 'sent' })).to.equal(1);
      expect(sample(m, 'ddp_guard_emails_total', { outcome: 'failed' })).to.equal(0);
    });

    it('counts mail the SMTP server refuses as failed', async () => {
      const userId = (await fx.user('carol')).id;
      const { client } = await fx.login('carol');
      await fx.services.store.twoFactor.setEmailEnabled(userId, true);
      fx.sink.rejectAll = true;
      // The guard awaits the refused delivery (and counts it) before it answers.
      await client.fails('app.echo');
      const m = await scrape(metricsUrl);
      expect(sample(m, 'ddp_guard_emails_total', { outcome: 'failed' })).to.equal(1);
      expect(sample(m, 'ddp_guard_emails_total', { outcome: 'sent' })).to.equal(0);
    });

    it('counts HTTP calls with transport http', async () => {
      await fx.user('dave');
      const res = await fetch(`${httpBase(fx.url)}/api/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'dave', password: 'wrong' }),
      });
      expect(res.status).to.equal(401);
      const m = await scrape(metricsUrl);
      expect(sample(m, 'ddp_guard_method_calls_total', { method: 'login', transport: 'http', outcome: '403' })).to.equal(1);
    });
  });

  describe('on a plain server', () => {
    it('counts rate-limit refusals by method, and unknown methods under one label', async () => {
      const server = await startServer({}, (s) => s.methods({ limited: { rateLimit: { numRequests: 1, timeIntervalMs: 60_000 }, handler: () => 'ok' } }));
      const client = await RawClient.handshake(server.url);
      expect((await client.call('limited')).result).to.equal('ok');
      expect((await client.call('limited')).error).to.deep.include({ error: 'too-many-requests' });
      for (const name of ['no-such-a', 'no-such-b']) expect((await client.call(name)).error).to.deep.include({ error: 404 });
      const m = await scrape(`${httpBase(server.url)}/metrics`);
      expect(sample(m, 'ddp_guard_rate_limit_rejections_total', { method: 'limited', transport: 'ddp' })).to.equal(1);
      expect(sample(m, 'ddp_guard_method_calls_total', { method: 'limited', outcome: 'too-many-requests' })).to.equal(1);
      expect(sample(m, 'ddp_guard_method_calls_total', { method: '(unknown)', outcome: '404' })).to.equal(2);
      expect(m.text).to.not.include('no-such');
    });

    it('reads live gauges when scraped: subscriptions, methods in flight, password queue, event-loop delay', async () => {
      const server = await startServer({}, (s) => s.publish('things', function () {
        this.ready();
      }));
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'things', params: [] });
      await client.waitFor((msg) => msg.msg === 'ready');
      await new Promise((resolve) => setTimeout(resolve, 60)); // event-loop samples
      const m = await scrape(`${httpBase(server.url)}/metrics`);
      expect(sample(m, 'ddp_guard_subscriptions')).to.equal(1);
      expect(sample(m, 'ddp_guard_methods_in_flight')).to.equal(0);
      expect(sample(m, 'ddp_guard_password_queue_length')).to.equal(0);
      expect(m.types.get('ddp_guard_event_loop_delay_seconds')).to.equal('gauge');
      const p99 = sample(m, 'ddp_guard_event_loop_delay_seconds', { stat: 'p99' });
      expect(p99).to.be.a('number').and.to.be.greaterThan(0).and.lessThan(5);
      expect(m.types.get('ddp_guard_messages_received_total')).to.equal('counter');
      expect(m.types.get('ddp_guard_messages_sent_total')).to.equal('counter');
      // The session counts real traffic: connect and sub in; connected and ready out.
      expect(sample(m, 'ddp_guard_messages_received_total'), 'received').to.be.at.least(2);
      expect(sample(m, 'ddp_guard_messages_sent_total'), 'sent').to.be.at.least(2);
    });

    it('reports the server traffic counters as messages received and sent', async () => {
      const server = await startServer();
      server.traffic.messagesIn += 7;
      server.traffic.messagesOut += 11;
      const m = await scrape(`${httpBase(server.url)}/metrics`);
      expect(sample(m, 'ddp_guard_messages_received_total')! >= 7).to.equal(true);
      expect(sample(m, 'ddp_guard_messages_sent_total')! >= 11).to.equal(true);
    });

    it('serves /metrics on metricsPort only, with the health checks, when one is given', async () => {
      const metricsPort = await freePort();
      const server = await startServer({ metricsPort });
      expect(server.observability.metricsAddress()?.port).to.equal(metricsPort);
      expect((await get(`${httpBase(server.url)}/metrics`)).status).to.equal(404);
      const separate = `http://127.0.0.1:${metricsPort}`;
      const answer = await get(`${separate}/metrics`);
      expect(answer.status).to.equal(200);
      expect(answer.contentType).to.match(/^text\/plain; version=0\.0\.4/);
      expect(sample(parseMetrics(answer.text), 'ddp_guard_connections_open')).to.equal(0);
      expect((await get(`${separate}/healthz`)).status).to.equal(200);
      expect((await get(`${separate}/readyz`)).status).to.equal(200);
      await server.close();
      expect(server.observability.metricsAddress()).to.equal(null);
      await get(`${separate}/metrics`).then(() => expect.fail('the metrics listener should be closed'), () => undefined);
    });

    it('holds at most METRICS_MAX_CONNECTIONS on metricsPort: one more is closed, and the port serves again once they go', async () => {
      const metricsPort = await freePort();
      await startServer({ metricsPort });
      const open = async (): Promise<Socket> => {
        const socket = connect(metricsPort, '127.0.0.1');
        await once(socket, 'connect');
        return socket;
      };
      const held: Socket[] = [];
      for (let i = 0; i < METRICS_MAX_CONNECTIONS; i++) held.push(await open());
      // Node closes a connection past maxConnections on arrival, before reading from it.
      const extra = await open();
      extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const [ended] = await Promise.race([once(extra, 'close').then(() => ['closed']), new Promise<string[]>((r) => setTimeout(() => r(['still open']), 3000))]);
      expect(ended).to.equal('closed');
      // The held ones still work, and after they go a new one is served.
      held[0]!.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const [chunk] = (await once(held[0]!, 'data')) as [Buffer];
      expect(chunk.toString()).to.match(/^HTTP\/1\.1 200/);
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect((await get(`http://127.0.0.1:${metricsPort}/healthz`)).status).to.equal(200);
    });

    it('fails listen() clearly when metricsPort is taken', async () => {
      const metricsPort = await freePort();
      const first = await startServer({ metricsPort });
      expect(first.observability.metricsAddress()?.port).to.equal(metricsPort);
      const error = await startServer({ metricsPort }).then(() => null, (err: unknown) => err as Error);
      expect(error?.message).to.include(`Port ${metricsPort}`).and.include('metricsPort');
    });

    it('refuses a metricsPort equal to port when the server is created', () => {
      expect(() => createServer({ ...TEST_SERVER_DEFAULTS, port: 4321, metricsPort: 4321 })).to.throw(OptionError, /metricsPort/);
    });

    it('has no /metrics with metrics: false', async () => {
      const server = await startServer({ metrics: false });
      expect(server.observability.metrics).to.equal(null);
      expect((await get(`${httpBase(server.url)}/metrics`)).status).to.equal(404);
    });

    it('keeps each server on a registry of its own', async () => {
      const a = await startServer();
      const b = await startServer();
      await RawClient.handshake(a.url);
      expect(sample(await scrape(`${httpBase(a.url)}/metrics`), 'ddp_guard_sessions_total')).to.equal(1);
      expect(sample(await scrape(`${httpBase(b.url)}/metrics`), 'ddp_guard_sessions_total')).to.equal(0);
    });
  });

  describe('the mail decorator', () => {
    it('passes everything through and counts each send as sent or failed', async () => {
      const metrics = new Metrics({ stats: () => ({ sockets: 0, sessions: 0, methodsInFlight: 0, queuedMessages: 0, subscriptions: 0, documents: 0, timers: 0 }), traffic: { messagesIn: 0, messagesOut: 0 }, passwordQueueLength: () => 0 });
      const seen: string[] = [];
      let fail = false;
      const inner: Mailer = {
        async send(msg) {
          seen.push(`send ${msg.subject}`);
          if (fail) throw new Error('refused');
        },
        async verify() {
          seen.push('verify');
        },
        close: () => void seen.push('close'),
        describe: () => 'fake',
      };
      const mailer = metrics.countMail(inner);
      await mailer.send({ to: 'a@example.com', subject: 'one', text: 'x' });
      fail = true;
      await mailer.send({ to: 'a@example.com', subject: 'two', text: 'x' }).then(() => expect.fail('should fail'), (err: Error) => expect(err.message).to.equal('refused'));
      await mailer.verify();
      mailer.close();
      expect(mailer.describe()).to.equal('fake');
      expect(seen).to.deep.equal(['send one', 'send two', 'verify', 'close']);
      const m = parseMetrics((await metrics.render()).body);
      expect(sample(m, 'ddp_guard_emails_total', { outcome: 'sent' })).to.equal(1);
      expect(sample(m, 'ddp_guard_emails_total', { outcome: 'failed' })).to.equal(1);
    });
  });
});
