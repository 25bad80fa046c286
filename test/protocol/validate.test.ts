import { expect } from 'chai';
import { classifyClientMessage, classifyServerMessage } from '../../protocol/validate.js';
import { PROTOCOL_ERRORS } from '../../protocol/errors.js';

const BAD_REQUEST = 'Bad request';
const MALFORMED_METHOD = 'Malformed method invocation';
const MALFORMED_SUB = 'Malformed subscription';

describe('protocol/validate classifyClientMessage', () => {
  it("uses Meteor's reason texts", () => {
    expect(PROTOCOL_ERRORS.badRequest.reason).to.equal(BAD_REQUEST);
    expect(PROTOCOL_ERRORS.malformedMethod.reason).to.equal(MALFORMED_METHOD);
    expect(PROTOCOL_ERRORS.malformedSubscription.reason).to.equal(MALFORMED_SUB);
    expect(PROTOCOL_ERRORS.parseError.reason).to.equal('Parse error');
    expect(PROTOCOL_ERRORS.mustConnectFirst.reason).to.equal('Must connect first');
    expect(PROTOCOL_ERRORS.alreadyConnected.reason).to.equal('Already connected');
  });

  const accepted: [string, unknown, unknown][] = [
    ['connect', { msg: 'connect', version: '1', support: ['1'] }, { msg: 'connect', version: '1', support: ['1'] }],
    ['connect with a stale session and unknown fields (dropped)', { msg: 'connect', version: '1', support: ['1', 'pre2'], session: 'old', receivedCount: 3 }, { msg: 'connect', version: '1', support: ['1', 'pre2'] }],
    ['connect without version or support (answered with failed later)', { msg: 'connect' }, { msg: 'connect', version: '', support: [] }],
    ['connect with a non-string support entry', { msg: 'connect', version: '1', support: ['1', 2] }, { msg: 'connect', version: '1', support: [] }],
    ['method', { msg: 'method', method: 'a', params: [1, 'b'], id: '1' }, { msg: 'method', method: 'a', params: [1, 'b'], id: '1' }],
    ['method with randomSeed', { msg: 'method', method: 'a', params: [], id: '1', randomSeed: 'seed' }, { msg: 'method', method: 'a', params: [], id: '1', randomSeed: 'seed' }],
    ['method without params', { msg: 'method', method: 'a', id: '1' }, { msg: 'method', method: 'a', params: [], id: '1' }],
    ['sub', { msg: 'sub', id: 's', name: 'p', params: [0] }, { msg: 'sub', id: 's', name: 'p', params: [0] }],
    ['sub without params', { msg: 'sub', id: 's', name: 'p' }, { msg: 'sub', id: 's', name: 'p', params: [] }],
    ['unsub', { msg: 'unsub', id: 's' }, { msg: 'unsub', id: 's' }],
    ['ping with id', { msg: 'ping', id: 'x' }, { msg: 'ping', id: 'x' }],
    ['ping without id', { msg: 'ping' }, { msg: 'ping' }],
    ['ping with a non-string id (id ignored)', { msg: 'ping', id: 5 }, { msg: 'ping' }],
    ['pong with id', { msg: 'pong', id: 'x' }, { msg: 'pong', id: 'x' }],
    ['pong without id', { msg: 'pong' }, { msg: 'pong' }],
    ['disconnect', { msg: 'disconnect' }, { msg: 'disconnect' }],
  ];
  for (const [name, input, message] of accepted) {
    it(`accepts ${name}`, () => {
      expect(classifyClientMessage(input)).to.deep.equal({ ok: true, message });
    });
  }

  const refused: [string, unknown, string][] = [
    ['null', null, BAD_REQUEST],
    ['a string', 'ping', BAD_REQUEST],
    ['a number', 5, BAD_REQUEST],
    ['an array', [{ msg: 'ping' }], BAD_REQUEST],
    ['an object without msg', { id: '1' }, BAD_REQUEST],
    ['a non-string msg', { msg: 5 }, BAD_REQUEST],
    ['an unknown msg', { msg: 'hello' }, BAD_REQUEST],
    ['a server message sent by a client', { msg: 'result', id: '1' }, BAD_REQUEST],
    ['the server_id greeting sent back', { server_id: '0' }, BAD_REQUEST],
    ['method without id', { msg: 'method', method: 'a', params: [] }, MALFORMED_METHOD],
    ['method with a numeric id', { msg: 'method', method: 'a', params: [], id: 1 }, MALFORMED_METHOD],
    ['method without a name', { msg: 'method', params: [], id: '1' }, MALFORMED_METHOD],
    ['method with a numeric name', { msg: 'method', method: 5, params: [], id: '1' }, MALFORMED_METHOD],
    ['method with object params', { msg: 'method', method: 'a', params: { 0: 1 }, id: '1' }, MALFORMED_METHOD],
    ['method with null params', { msg: 'method', method: 'a', params: null, id: '1' }, MALFORMED_METHOD],
    ['method with a numeric randomSeed', { msg: 'method', method: 'a', params: [], id: '1', randomSeed: 5 }, MALFORMED_METHOD],
    ['sub without id', { msg: 'sub', name: 'p', params: [] }, MALFORMED_SUB],
    ['sub with a numeric id', { msg: 'sub', id: 1, name: 'p', params: [] }, MALFORMED_SUB],
    ['sub without a name', { msg: 'sub', id: 's', params: [] }, MALFORMED_SUB],
    ['sub with string params', { msg: 'sub', id: 's', name: 'p', params: 'x' }, MALFORMED_SUB],
    ['unsub without id', { msg: 'unsub' }, MALFORMED_SUB],
    ['unsub with a numeric id', { msg: 'unsub', id: 3 }, MALFORMED_SUB],
  ];
  for (const [name, input, reason] of refused) {
    it(`refuses ${name} with '${reason}'`, () => {
      expect(classifyClientMessage(input)).to.deep.equal({ ok: false, reason });
    });
  }
});

describe('protocol/validate classifyServerMessage', () => {
  const wireError = { isClientSafe: true, error: 404, reason: 'x', message: 'x [404]', errorType: 'Meteor.Error' };
  const accepted: unknown[] = [
    { msg: 'connected', session: 's' },
    { msg: 'failed', version: '1' },
    { msg: 'ping' }, { msg: 'ping', id: 'a' }, { msg: 'pong' },
    { msg: 'result', id: '1', result: 0 }, { msg: 'result', id: '1' }, { msg: 'result', id: '1', error: wireError },
    { msg: 'updated', methods: ['1'] },
    { msg: 'added', collection: 'c', id: 'd', fields: { a: 1 } }, { msg: 'added', collection: 'c', id: 'd' },
    { msg: 'changed', collection: 'c', id: 'd', cleared: ['a'] },
    { msg: 'removed', collection: 'c', id: 'd' },
    { msg: 'ready', subs: ['s'] },
    { msg: 'nosub', id: 's' }, { msg: 'nosub', id: 's', error: wireError },
    { msg: 'error', reason: 'Bad request' },
  ];
  for (const input of accepted) {
    it(`accepts ${JSON.stringify(input)}`, () => {
      expect(classifyServerMessage(input).ok).to.equal(true);
    });
  }
  const refused: unknown[] = [
    null, { server_id: '0' }, { msg: 'server_id' }, { msg: 'connected' }, { msg: 'failed' }, { msg: 'ping', id: 5 },
    { msg: 'result' }, { msg: 'result', id: '1', error: { error: 500 } }, { msg: 'updated', methods: [1] },
    { msg: 'added', id: 'd' }, { msg: 'added', collection: 'c', id: 'd', fields: [1] },
    { msg: 'changed', collection: 'c', id: 'd', cleared: 'a' }, { msg: 'ready', subs: 's' }, { msg: 'nosub' },
    { msg: 'error' },
  ];
  for (const input of refused) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      expect(classifyServerMessage(input).ok).to.equal(false);
    });
  }
});
