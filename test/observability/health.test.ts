/**
 * `/healthz` and `/readyz` over HTTP: ready when the store answers (and the SMTP server, when
 * one is configured), 503 naming the failed check otherwise; the mail check's result is reused
 * for a while, and a failing check is logged once, not at every probe.
 */
import { expect } from 'chai';
import { captureLogger, startServer, stopServers } from '../helpers/server.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { HealthChecks, type HealthSource } from '../../server/observability/health.js';
import type { Services } from '../../server/services/services.js';
import { silentLogger } from '../../server/runtime/logger.js';
import { freePort, get, httpBase } from './support.js';

describe('observability: health checks', () => {
  const sinks: SmtpSink[] = [];
  afterEach(async () => {
    await stopServers();
    for (const sink of sinks.splice(0)) await sink.stop();
  });

  it('/healthz answers 200 {status: ok}', async () => {
    const server = await startServer();
    const answer = await get(`${httpBase(server.url)}/healthz`);
    expect(answer.status).to.equal(200);
    expect(JSON.parse(answer.text)).to.deep.equal({ status: 'ok' });
  });

  it('/readyz answers 200 when the store answers, with mail not configured', async () => {
    const server = await startServer();
    const answer = await get(`${httpBase(server.url)}/readyz`);
    expect(answer.status).to.equal(200);
    expect(JSON.parse(answer.text)).to.deep.equal({ status: 'ok', checks: { server: 'ok', store: 'ok', mail: 'not-configured' }, failed: [] });
  });

  it('/readyz answers 503 naming the store when the store is closed underneath, and logs it once', async () => {
    const logs = captureLogger();
    const server = await startServer({ logger: logs.logger });
    await (await server.services.get()).store.close();
    for (let i = 0; i < 3; i++) {
      const answer = await get(`${httpBase(server.url)}/readyz`);
      expect(answer.status).to.equal(503);
      expect(JSON.parse(answer.text)).to.deep.include({ status: 'unavailable', failed: ['store'] });
      expect(JSON.parse(answer.text).checks).to.deep.equal({ server: 'ok', store: 'failed', mail: 'not-configured' });
    }
    expect(logs.lines.filter((l) => l.fields.event === 'readiness')).to.have.length(1);
    expect(logs.lines.find((l) => l.fields.event === 'readiness')).to.deep.include({ level: 'warn' });
  });

  it('/readyz checks the SMTP server when one is configured: ok through a live one', async () => {
    const sink = new SmtpSink();
    sinks.push(sink);
    const { url: smtpUrl } = await sink.start();
    const server = await startServer({ smtpUrl });
    const answer = await get(`${httpBase(server.url)}/readyz`);
    expect(answer.status).to.equal(200);
    expect(JSON.parse(answer.text).checks).to.deep.equal({ server: 'ok', store: 'ok', mail: 'ok' });
  });

  it('/readyz answers 503 naming mail when the SMTP URL points at a closed port', async () => {
    const port = await freePort();
    const server = await startServer({ smtpUrl: `smtp://127.0.0.1:${port}` });
    const answer = await get(`${httpBase(server.url)}/readyz`);
    expect(answer.status).to.equal(503);
    expect(JSON.parse(answer.text)).to.deep.equal({ status: 'unavailable', checks: { server: 'ok', store: 'ok', mail: 'failed' }, failed: ['mail'] });
  });

  it('has neither endpoint with healthChecks: false', async () => {
    const server = await startServer({ healthChecks: false });
    expect((await get(`${httpBase(server.url)}/healthz`)).status).to.equal(404);
    expect((await get(`${httpBase(server.url)}/readyz`)).status).to.equal(404);
  });

  describe('HealthChecks', () => {
    function source(verify: () => Promise<void>, ping: () => Promise<void> = async () => undefined): HealthSource {
      const services = { store: { ping }, mailer: { verify } } as unknown as Services;
      return { isShuttingDown: () => false, services: () => services, checkMail: true, logger: silentLogger };
    }

    it('reuses the mail check for mailCacheMs, and shares one check between concurrent probes', async () => {
      let verifies = 0;
      const checks = new HealthChecks(source(async () => {
        verifies++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }), { mailCacheMs: 100 });
      await Promise.all([checks.ready(), checks.ready(), checks.ready()]);
      expect(verifies).to.equal(1);
      await checks.ready();
      expect(verifies).to.equal(1);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect((await checks.ready()).status).to.equal('ok');
      expect(verifies).to.equal(2);
    });

    it('fails a check that does not answer within timeoutMs', async () => {
      const checks = new HealthChecks(source(() => new Promise(() => undefined), () => new Promise(() => undefined)), { timeoutMs: 30 });
      const started = Date.now();
      const readiness = await checks.ready();
      expect(Date.now() - started).to.be.lessThan(1000);
      expect(readiness).to.deep.equal({ status: 'unavailable', checks: { server: 'ok', store: 'failed', mail: 'failed' }, failed: ['store', 'mail'] });
    });

    it('is not ready while shutting down, nor before the services are open', async () => {
      const down = new HealthChecks({ ...source(async () => undefined), isShuttingDown: () => true });
      expect((await down.ready()).failed).to.deep.equal(['server']);
      const early = new HealthChecks({ ...source(async () => undefined), services: () => null });
      expect((await early.ready()).failed).to.deep.equal(['store', 'mail']);
    });
  });
});
