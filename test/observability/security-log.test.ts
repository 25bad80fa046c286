/**
 * What `serve`'s default level (`info`) writes: start-up, shutdown and security events, not a
 * line per call or per connection; and a burst of one security event is one line plus one
 * summary with the count, not a line per frame. A real server, real sockets, pino in memory.
 */
import { expect } from 'chai';
import { createPinoLogger } from '../../server/runtime/logger.js';
import { passwordAnswer, startFixture, stopFixtures } from '../two-factor/fixture.js';
import { memoryDestination } from './support.js';

type Line = Record<string, unknown>;

describe('observability: info level and security events', () => {
  afterEach(stopFixtures);

  it('at info, plain calls and connections write nothing; a flood of wrong codes is a few lines with counts', async () => {
    const out = memoryDestination();
    const fx = await startFixture({ logger: createPinoLogger({ level: 'info', destination: out }), maxFailedAttempts: 5, passwordMaxFailures: 5 });
    const user = await fx.user('mallory');
    const startLines = out.lines.length;

    // 200 plain calls on 5 connections: no line at info.
    const clients = await Promise.all(Array.from({ length: 5 }, () => fx.connect()));
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < 40; i++) await c.ok('app.open', i);
    }));
    for (const c of clients) c.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(out.lines.slice(startLines), 'lines for plain calls and connections').to.deep.equal([]);

    // 60 wrong password-fallback answers: 4 wrong, the 5th locks, 55 refused while locked.
    const { client } = await fx.login('mallory');
    const wrong = { ...passwordAnswer('mallory'), twoFactorCode: 'f'.repeat(64) };
    for (let i = 0; i < 60; i++) {
      const error = await client.fails('app.echo', 'x', wrong);
      expect(error.error).to.be.oneOf(['totp-invalid', 'totp-max-attempts']);
    }
    await fx.server.close();

    const lines = out.lines.map((l) => JSON.parse(l) as Line);
    const security = lines.filter((l) => l.event === 'security');
    // One line when each kind first happens, one summary each with what followed.
    expect(security.map((l) => [l.level, l.kind, l.count ?? null])).to.deep.equal([
      ['info', '2fa-invalid', null],
      ['warn', '2fa-locked', null],
      ['info', '2fa-invalid', 3],
      ['warn', '2fa-locked', 55],
    ]);
    expect(security[0]).to.deep.include({ userId: user.id, clientAddress: '127.0.0.1', method: 'app.echo', transport: 'ddp' });
    expect(security[3]).to.deep.include({ users: 1, addresses: 1 });
    expect(lines.filter((l) => l.event === 'method' || l.event === 'connection-open' || l.event === 'connection-close'), 'per-call lines at info').to.deep.equal([]);
    expect(lines.length, 'every line at info').to.be.below(15);
    expect(lines.map((l) => l.msg)).to.include.members(['services ready', 'server closed']);
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on'))).to.equal(true);
  });
});
