/**
 * Issue 7, the origin allow-list (`allowedOrigins: ['https://chat.example.com']`): a
 * browser-like upgrade (Origin, User-Agent, Sec-WebSocket-Key) from any other origin is refused
 * with HTTP 403 before any WebSocket exists — on `/websocket` and on SockJS's path alike —; the
 * allowed origin is accepted; a client without Origin (a server, a bot, the CLI) is accepted.
 */
import http from 'node:http';
import { expect } from 'chai';
import { startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';

const ALLOWED = 'https://chat.example.com';
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

/** A hand-made upgrade request; resolves with the HTTP status (101 when accepted). */
function upgradeStatus(url: string, pathname: string, origin: string | undefined): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const { hostname, port } = new URL(url);
  const headers: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'User-Agent': BROWSER_UA,
  };
  if (origin !== undefined) headers.Origin = origin;
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port: Number(port), path: pathname, headers });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('reliability: the origin allow-list', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  const refused = ['https://evil.example', 'http://chat.example.com', 'https://chat.example.com.evil.example', 'https://chat.example.com:8443', 'null', 'https://CHAT.example.com.attacker', ''];

  for (const pathname of ['/websocket', '/sockjs/123/abcdefgh/websocket']) {
    it(`${pathname}: another origin gets HTTP 403 at the upgrade; the allowed one and no Origin get 101`, async () => {
      const server = await startServer({ allowedOrigins: [ALLOWED] });
      for (const origin of refused) {
        expect((await upgradeStatus(server.url, pathname, origin)).status, `Origin: ${JSON.stringify(origin)}`).to.equal(403);
      }
      expect((await upgradeStatus(server.url, pathname, ALLOWED)).status).to.equal(101);
      expect((await upgradeStatus(server.url, pathname, undefined)).status).to.equal(101);
      // Nothing of the refused upgrades is left behind.
      expect(server.stats().sockets).to.be.at.most(2);
    });
  }

  it('a browser-like client from the allowed origin speaks DDP; one from another origin never gets a socket', async () => {
    const server = await startServer({ allowedOrigins: [ALLOWED] }, (s) => s.methods({ ping2: () => 'pong2' }));
    const allowed = await RawClient.handshake(server.url, { origin: ALLOWED, headers: { 'User-Agent': BROWSER_UA } });
    expect((await allowed.call('ping2')).result).to.equal('pong2');
    const cli = await RawClient.handshake(server.url);
    expect((await cli.call('ping2')).result).to.equal('pong2');
    const error = await RawClient.connect(server.url, { origin: 'https://evil.example', headers: { 'User-Agent': BROWSER_UA } }).then(() => null, (err: unknown) => err);
    expect(String(error)).to.equal('Error: upgrade refused: HTTP 403');
    expect(server.stats().sessions).to.equal(2);
  });

  it('with no allow-list (the default) every origin is accepted', async () => {
    const server = await startServer();
    expect((await upgradeStatus(server.url, '/websocket', 'https://anything.example')).status).to.equal(101);
  });
});
