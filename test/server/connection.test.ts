import { expect } from 'chai';
import { gate, startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import type { ServerOptions } from '../../server/index.js';

const HEADERS = {
  'x-forwarded-for': '203.0.113.9, 198.51.100.2',
  'x-real-ip': '10.0.0.7',
  'user-agent': 'ddp-guard-test/1.0',
  'accept-language': 'fr-CH',
  cookie: 'meteor_login_token=secret',
  authorization: 'Bearer secret',
  'x-custom': 'not copied',
};

async function connectionSeenBy(options: ServerOptions, headers: Record<string, string> = HEADERS): Promise<{ id: string; clientAddress: string; httpHeaders: Record<string, string>; session: string }> {
  const server = await startServer(options, (s) => s.methods({
    conn() {
      const c = this.connection!;
      return { id: c.id, clientAddress: c.clientAddress, httpHeaders: c.httpHeaders };
    },
  }));
  const client = await RawClient.handshake(server.url, { headers });
  const { result } = await client.call('conn');
  return { ...result, session: client.session };
}

describe('server: this.connection', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('gives the session id and the socket address without httpForwardedCount', async () => {
    const c = await connectionSeenBy({});
    expect(c.id).to.equal(c.session);
    expect(c.clientAddress).to.equal('127.0.0.1');
  });

  const forwarded: [number, string][] = [[1, '198.51.100.2'], [2, '203.0.113.9'], [3, '127.0.0.1']];
  for (const [count, address] of forwarded) {
    it(`takes entry ${count} from the right of X-Forwarded-For with httpForwardedCount ${count}${count > 2 ? ' (too few entries: the socket address)' : ''}`, async () => {
      expect((await connectionSeenBy({ httpForwardedCount: count })).clientAddress).to.equal(address);
    });
  }

  it('uses the socket address when a trusted proxy sent no X-Forwarded-For', async () => {
    expect((await connectionSeenBy({ httpForwardedCount: 1 }, { 'user-agent': 'x' })).clientAddress).to.equal('127.0.0.1');
  });

  it('copies only the safe headers, never cookies or authorization', async () => {
    const { httpHeaders } = await connectionSeenBy({});
    expect(Object.keys(httpHeaders).sort()).to.deep.equal(['accept-language', 'host', 'user-agent', 'x-forwarded-for', 'x-real-ip']);
    expect(httpHeaders).to.include({ 'user-agent': 'ddp-guard-test/1.0', 'accept-language': 'fr-CH', 'x-real-ip': '10.0.0.7', 'x-forwarded-for': '203.0.113.9, 198.51.100.2' });
    expect(httpHeaders.host).to.match(/^127\.0\.0\.1:\d+$/);
    expect(JSON.stringify(httpHeaders)).to.not.include('secret');
  });

  it('runs onClose callbacks when the client goes away', async () => {
    const closed = gate<string>();
    const server = await startServer({}, (s) => s.methods({
      watch() {
        const id = this.connection!.id;
        this.connection!.onClose(() => closed.open(id));
      },
    }));
    const client = await RawClient.handshake(server.url);
    await client.call('watch');
    client.close();
    expect(await closed.promise).to.equal(client.session);
  });

  it('lets a method close its own connection', async () => {
    const server = await startServer({}, (s) => s.methods({
      kick() {
        this.connection!.close();
      },
    }));
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'method', method: 'kick', params: [], id: 'k' });
    expect((await client.closed).code).to.equal(1000);
  });
});
