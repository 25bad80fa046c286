/**
 * The shortcuts the load generator takes per frame must answer as the long way would: a frame
 * dropped unparsed is one that, parsed, would have been dropped too; a pattern string without a
 * wildcard, compared as a literal, matches exactly what its regex matched.
 */
import { expect } from 'chai';
import { droppableKind, prepareSteps } from '../../cli/load/transcript-steps.js';
import { parseTranscript } from '../../cli/script/parser.js';
import { compilePattern, tryMatch } from '../../cli/script/pattern.js';
import type { ExpandContext } from '../../cli/script/template.js';

const READ_OR_KEPT = new Set(['ping', 'connected', 'failed', 'result', 'ready', 'nosub']);

describe('cli: load generator shortcuts', () => {
  it('drops unparsed only frames whose parsed msg is a kind neither read nor kept (or that do not parse)', () => {
    const kept = new Set(['result', 'connected']);
    const frames = [
      '{"msg":"updated","methods":["1"]}',
      '{"msg":"added","collection":"c","id":"1","fields":{"msg":"x"}}',
      '{"msg":"added","collection":"c","id":"1","fields":{"a":"\\u0041"}}',
      '{"msg":"updated","msg":"result","id":"1"}',
      '{"msg":"updated","m\\u0073g":"result","id":"1"}',
      '{"msg":"result","id":"1"}',
      '{"msg":"ping"}',
      '{"msg":"updated"}',
      '{"msg":"updated"garbage',
      '{"msg":"updated",garbage',
      '{"msg":"upd\\"ated"}',
      '{ "msg":"updated"}',
      '["msg","updated"]',
    ];
    const dropped = frames.filter((f) => droppableKind(f, kept) !== undefined);
    expect(dropped).to.deep.equal(['{"msg":"updated","methods":["1"]}', '{"msg":"updated"}', '{"msg":"updated",garbage']);
    for (const frame of frames) {
      if (droppableKind(frame, kept) === undefined) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(frame);
      } catch {
        continue; // Would have been kept as text, of kind '': never kept when `kept` is defined.
      }
      const msg = (parsed as { msg?: unknown }).msg;
      expect(typeof msg === 'string' && !READ_OR_KEPT.has(msg) && !kept.has(msg), frame).to.equal(true);
    }
    expect(droppableKind('{"msg":"updated"}', undefined), 'everything is kept: nothing dropped').to.equal(undefined);
    expect(droppableKind('{"msg":"updated"}', new Set(['updated'])), 'a kept kind').to.equal(undefined);
  });

  it('a frame without placeholders is prepared once: its JSON bytes, what it is, and the msg its answer names', () => {
    const steps = prepareSteps(parseTranscript('> {"msg":"method","method":"echo","params":["hi"],"id":"7"}\n< {"msg":"result","id":"7"}\n'));
    expect(steps[0]!.bytes!.toString()).to.equal('{"msg":"method","method":"echo","params":["hi"],"id":"7"}');
    expect(steps[0]!.frame).to.deep.include({ kind: 'method', id: '7', name: 'echo', login: false });
    expect(steps[1]!.msgKind).to.equal('result');
  });

  it('a pattern string without a wildcard matches its literal text only, placeholders included', () => {
    const ctx: ExpandContext = { lookup: (name) => ({ user: 'a.b*', n: 5 })[name], totp: () => '123456' };
    const matches = (pattern: unknown, actual: unknown): boolean => tryMatch(compilePattern(pattern, ctx), actual) !== null;
    expect(matches('a.b', 'a.b')).to.equal(true);
    expect(matches('a.b', 'aXb'), 'a dot is no regex wildcard').to.equal(false);
    expect(matches('a.b', 'a.b\n'), 'no match before a trailing newline').to.equal(false);
    expect(matches('hi {{user}}', 'hi a.b*')).to.equal(true);
    expect(matches('hi {{user}}', 'hi a.bcd'), "a variable's star is literal").to.equal(false);
    expect(matches('n={{n}} {{totp:JBSWY3DPEHPK3PXP}}', 'n=5 123456')).to.equal(true);
    expect(matches('', '')).to.equal(true);
    expect(matches('', 'x')).to.equal(false);
    expect(matches('5', 5), 'a string pattern never matches a number').to.equal(false);
    expect(matches('hi *', 'hi there'), 'a wildcard still matches as before').to.equal(true);
  });
});
