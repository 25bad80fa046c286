/**
 * The bugs the wire fuzz found, pinned with fixed frames:
 * - keys spelled with `\u` escapes (`"\u005f_proto__"`, `"\u0063onstructor"`, `"\u0024date"`)
 *   took the codec's fast path, which looks for the words in the raw text: forbidden keys got
 *   through to methods, subscriptions and `offendingMessage`, and `\u0024date` stayed a plain
 *   object instead of a Date;
 * - a method name containing `$&`, `$'`, `` $` `` or `$$` garbled the 404 reason, because the
 *   catalogue filled `%s` with a string replacement (which expands those patterns).
 */
import { expect } from 'chai';
import { startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';

describe('reliability: regressions found by the wire fuzz', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('refuses forbidden keys spelled with \\u escapes, anywhere in a frame, with Parse error', async () => {
    const server = await startServer({}, (s) => {
      s.methods({ echo: (...args: unknown[]) => args });
      s.publish('p', function () {
        this.ready();
      });
    });
    const client = await RawClient.handshake(server.url);
    const frames = [
      '{"msg":"method","method":"echo","params":[{"\\u005f_proto__":{"admin":true}}],"id":"a"}',
      '{"msg":"method","method":"echo","params":[{"__proto\\u005f_":1}],"id":"b"}',
      '{"msg":"method","method":"echo","params":[{"\\u0063onstructor":{"prototype":1}}],"id":"c"}',
      '{"msg":"method","method":"echo","params":[{"prot\\u006ftype":1}],"id":"d"}',
      '{"msg":"sub","id":"s","name":"p","params":[{"\\u0063onstructor":null}]}',
      '{"msg":"hello","\\u005f_proto__":1}',
    ];
    for (const frame of frames) {
      client.send(frame);
      expect(await client.next(), frame).to.deep.equal({ msg: 'error', reason: 'Parse error' });
    }
    await client.sync();
    expect(client.unread.filter((m) => m.msg !== 'result' && m.msg !== 'updated')).to.deep.equal([]);
  });

  it('decodes EJSON types whose keys are spelled with \\u escapes, and refuses bad ones', async () => {
    const server = await startServer({}, (s) => s.methods({ echo: (...args: unknown[]) => args }));
    const client = await RawClient.handshake(server.url);
    client.send('{"msg":"method","method":"echo","params":[{"\\u0024date":5}],"id":"d"}');
    const result = await client.waitFor((m) => m.msg === 'result' && m.id === 'd');
    expect(result.result[0]).to.be.instanceOf(Date);
    expect((result.result[0] as Date).getTime()).to.equal(5);
    client.send('{"msg":"method","method":"echo","params":[{"\\u0024date":"garbage"}],"id":"g"}');
    expect(await client.waitFor((m) => m.msg === 'error')).to.deep.equal({ msg: 'error', reason: 'Parse error' });
  });

  it("answers a method name with $&, $', $` or $$ with 404 naming it exactly", async () => {
    const server = await startServer();
    const client = await RawClient.handshake(server.url);
    for (const name of ["$&", "a$'b", 'x$`y', '$$', '$1', '%s']) {
      const result = await client.call(name, []);
      expect(result.error.reason, name).to.equal(`Method '${name}' not found`);
      expect(result.error.message, name).to.equal(`Method '${name}' not found [404]`);
    }
  });
});
