import { expect } from 'chai';
import { catalogueError, DdpError, errorMessageText, isClientSafeError, isWireError, METHOD_ERRORS } from '../../protocol/errors.js';
import { encode } from '../../protocol/ejson.js';
import { negotiateVersion, SUPPORTED_DDP_VERSIONS, versionHasHeartbeat } from '../../protocol/constants.js';

describe('protocol/errors DdpError.toWire', () => {
  it("has Meteor's shape and key order", () => {
    const wire = new DdpError(404, "Method 'x' not found").toWire();
    expect(Object.keys(wire)).to.deep.equal(['isClientSafe', 'error', 'reason', 'message', 'errorType']);
    expect(encode(wire)).to.equal(`{"isClientSafe":true,"error":404,"reason":"Method 'x' not found","message":"Method 'x' not found [404]","errorType":"Meteor.Error"}`);
  });

  it('puts details between reason and message, EJSON types included', () => {
    const wire = new DdpError('too-many-requests', 'Slow down', { timeToReset: 0, at: new Date(5) }).toWire();
    expect(Object.keys(wire)).to.deep.equal(['isClientSafe', 'error', 'reason', 'details', 'message', 'errorType']);
    expect(encode(wire)).to.equal('{"isClientSafe":true,"error":"too-many-requests","reason":"Slow down","details":{"timeToReset":0,"at":{"$date":5}},"message":"Slow down [too-many-requests]","errorType":"Meteor.Error"}');
  });

  it('leaves out reason and details when undefined, keeps falsy details', () => {
    const bare = new DdpError('oops').toWire();
    expect(Object.keys(bare)).to.deep.equal(['isClientSafe', 'error', 'message', 'errorType']);
    expect(bare.message).to.equal('[oops]');
    expect(new DdpError(400, 'r', 0).toWire().details).to.equal(0);
    expect(Object.keys(new DdpError(400, 'r', null).toWire())).to.include('details');
  });

  it('message text is Meteor\'s "reason [error]"', () => {
    expect(errorMessageText(403, 'Nope')).to.equal('Nope [403]');
    expect(errorMessageText('x', undefined)).to.equal('[x]');
    expect(new DdpError(403, 'Nope').message).to.equal('Nope [403]');
  });

  it('round-trips through fromWire', () => {
    const back = DdpError.fromWire(new DdpError('e', 'r', { a: 1 }).toWire());
    expect(back).to.be.instanceOf(DdpError);
    expect([back.error, back.reason, back.details]).to.deep.equal(['e', 'r', { a: 1 }]);
  });

  it('type guards tell wire errors from other objects', () => {
    expect(isWireError(new DdpError(1, 'a').toWire())).to.equal(true);
    expect(isWireError({ isClientSafe: true, error: 1 })).to.equal(false);
    expect(isClientSafeError({ isClientSafe: true, error: 'x' })).to.equal(true);
    expect(isClientSafeError(new Error('x'))).to.equal(false);
    expect(isClientSafeError({ isClientSafe: 'yes', error: 'x' })).to.equal(false);
  });

  it('builds catalogue errors with their argument', () => {
    const notFound = catalogueError('methodNotFound', 'a.b');
    expect([notFound.error, notFound.reason]).to.deep.equal([404, "Method 'a.b' not found"]);
    expect(catalogueError('subscriptionNotFound', 'p').reason).to.equal("Subscription 'p' not found");
    const limited = catalogueError('tooManyRequests', 3, { timeToReset: 2500 });
    expect(limited.error).to.equal('too-many-requests');
    expect(limited.reason).to.equal('Error, too many requests. Please slow down. You must wait 3 seconds before trying again.');
    expect(limited.details).to.deep.equal({ timeToReset: 2500 });
    expect(catalogueError('internal').toWire()).to.deep.include({ error: 500, reason: 'Internal server error' });
    expect(catalogueError('matchFailed').toWire()).to.deep.include({ error: 400, reason: 'Match failed' });
  });

  it('every catalogue entry has a code, a reason and a meaning', () => {
    for (const [name, entry] of Object.entries(METHOD_ERRORS)) {
      expect(entry.reason, name).to.be.a('string').and.not.equal('');
      expect(entry.meaning, name).to.be.a('string').and.not.equal('');
      expect(['string', 'number'], name).to.include(typeof entry.error);
    }
  });
});

describe('protocol/constants negotiateVersion', () => {
  const table: [readonly string[], string][] = [
    [['1'], '1'],
    [['1', 'pre2', 'pre1'], '1'],
    [['pre2', '1'], 'pre2'],
    [['pre1'], 'pre1'],
    [['1', 'pre1'], '1'],
    [['2', 'pre1', '1'], 'pre1'],
    [['2'], '1'],
    [[], '1'],
  ];
  for (const [support, version] of table) {
    it(`${JSON.stringify(support)} → ${version}`, () => {
      expect(negotiateVersion(support)).to.equal(version);
    });
  }

  it('takes the first client preference the server supports, else the server\'s first', () => {
    expect(negotiateVersion(['b', 'a'], ['a', 'b'])).to.equal('b');
    expect(negotiateVersion(['z'], ['a', 'b'])).to.equal('a');
  });

  it('supports 1, pre2, pre1 in that order; pre1 has no heartbeat', () => {
    expect(SUPPORTED_DDP_VERSIONS).to.deep.equal(['1', 'pre2', 'pre1']);
    expect(versionHasHeartbeat('1')).to.equal(true);
    expect(versionHasHeartbeat('pre2')).to.equal(true);
    expect(versionHasHeartbeat('pre1')).to.equal(false);
  });
});
