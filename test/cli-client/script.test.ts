/**
 * `ddp-guard script`: the transcript parser and matcher as tables, then the command in a child
 * process against a real ddp-guard server (captures, wildcards, a subscription, a TOTP login,
 * a deliberate mismatch, a malformed file) and against a minimal DDP server written here on
 * raw `ws`, to show that nothing depends on ddp-guard.
 */
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseTranscript, TranscriptSyntaxError } from '../../cli/script/parser.js';
import { compilePattern, tryMatch } from '../../cli/script/pattern.js';
import { expandValue, type ExpandContext } from '../../cli/script/template.js';
import { addUser, closedPort, enrolTotp, killChildren, PASSWORD, removeTempFiles, runCli, runInProcess, startTestServer, tempFile, type TestServer } from './support.js';

const vars = (values: Record<string, unknown>): ExpandContext => ({
  lookup: (name) => values[name],
  totp: () => '123456',
});

describe('cli: transcript parser and patterns', () => {
  const matches = (pattern: unknown, actual: unknown, values: Record<string, unknown> = {}): Map<string, unknown> | null =>
    tryMatch(compilePattern(pattern, vars(values)), actual);

  it('matches fields present (extra fields allowed), arrays item by item, wildcards and literal stars', () => {
    expect(matches({ msg: 'result', id: '1' }, { msg: 'result', id: '1', result: 5 })).to.not.equal(null);
    expect(matches({ msg: 'result', result: 5 }, { msg: 'result', id: '1' }), 'a missing field').to.equal(null);
    expect(matches({ result: '*' }, { result: { deep: [1] } }), '"*" matches an object').to.not.equal(null);
    expect(matches({ result: '*' }, {}), '"*" still needs the field').to.equal(null);
    expect(matches(['a*', 2], ['abc', 2])).to.not.equal(null);
    expect(matches(['a*'], ['abc', 2]), 'arrays have the same length').to.equal(null);
    expect(matches('a\\*c', 'a*c')).to.not.equal(null);
    expect(matches('a\\*c', 'abc'), '\\* is a literal star').to.equal(null);
    expect(matches('1*', 123), 'a string pattern needs a string').to.equal(null);
    expect(matches(null, null)).to.not.equal(null);
    expect(matches({ n: 1 }, { n: '1' })).to.equal(null);
  });

  it('captures whole values, and matches variables literally (their stars are no wildcards)', () => {
    const captured = matches({ session: '{{=session}}', result: '{{=result}}' }, { msg: 'connected', session: 'S1', result: { a: [1] } });
    expect(captured && Object.fromEntries(captured)).to.deep.equal({ session: 'S1', result: { a: [1] } });
    expect(matches({ id: 'x-{{v}}' }, { id: 'x-a*' }, { v: 'a*' })).to.not.equal(null);
    expect(matches({ id: 'x-{{v}}' }, { id: 'x-abc' }, { v: 'a*' })).to.equal(null);
    expect(matches({ r: '{{obj}}' }, { r: { b: 2, a: 1 } }, { obj: { a: 1, b: 2 } }), 'a whole-string variable keeps its type').to.not.equal(null);
    expect(() => compilePattern({ id: '{{unset}}' }, vars({}))).to.throw(/'unset' is not set/);
  });

  it('expands variables and TOTP placeholders, nested ones too, keeping a lone variable\'s type', () => {
    const ctx: ExpandContext = { lookup: (n) => ({ secret: 'JBSWY3DPEHPK3PXP', n: 7, user: 'al*ce' })[n], totp: (s) => `code-for-${s}` };
    expect(expandValue({ params: ['{{n}}', 'n={{n}}', '{{totp:{{secret}}}}', '{{user}}'], $date: 1 }, ctx)).to.deep.equal({
      params: [7, 'n=7', 'code-for-JBSWY3DPEHPK3PXP', 'al*ce'],
      $date: 1,
    });
  });

  it('parses steps and rejects bad lines naming the line', () => {
    const steps = parseTranscript('# c\n\n> {"msg":"connect"}\r\n< {"msg":"connected","session":"{{=s}}"}\nsleep 10\nset a = b {{s}}\n');
    expect(steps.map((s) => [s.kind, s.line])).to.deep.equal([['send', 3], ['expect', 4], ['sleep', 5], ['set', 6]]);
    const errorOf = (text: string): TranscriptSyntaxError => {
      try {
        parseTranscript(text);
      } catch (err) {
        if (err instanceof TranscriptSyntaxError) return err;
        throw err;
      }
      throw new Error(`no syntax error for ${JSON.stringify(text)}`);
    };
    expect(errorOf('> {"msg":"connect"}\n< {"msg": }').line).to.equal(2);
    expect(errorOf('\n\nwait 5').detail).to.match(/unknown step 'wait 5'/);
    expect(errorOf('> {"a":"{{=x}}"}').detail).to.match(/only a '<' line/);
    expect(errorOf('< {"a":"id-{{=x}}"}').detail).to.match(/whole string/);
    expect(errorOf('< {"a":"{{x"}').detail).to.match(/not closed/);
    expect(errorOf('sleep soon').line).to.equal(1);
    expect(errorOf('# only a comment').detail).to.match(/no steps/);
  });
});

describe('cli: ddp-guard script', () => {
  let t: TestServer;
  let secret: string;

  before(async () => {
    t = await startTestServer();
    await addUser(t.server, 'tess');
    secret = await enrolTotp(t.url, 'tess');
  });

  after(async () => {
    killChildren();
    removeTempFiles();
    await t?.close();
  });

  it('runs a passing transcript: captures, wildcards, a subscription, a TOTP login', async () => {
    const file = tempFile('pass.ddp', [
      '# against ddp-guard',
      '> {"msg":"connect","version":"1","support":["1","pre2","pre1"]}',
      '< {"msg":"connected","session":"{{=session}}"}',
      '> {"msg":"method","method":"echo","params":["hello {{who}}",{"$date":1700000000000},"{{session}}"],"id":"1"}',
      '< {"msg":"result","id":"1","result":["hello w*",{"$date":"*"},"{{session}}"]}',
      '> {"msg":"sub","id":"s1","name":"rooms","params":[]}',
      '< {"msg":"ready","subs":["s1"]}',
      '< {"msg":"added","collection":"rooms","id":"general","fields":{"name":"Gen*"}}',
      `> {"msg":"method","method":"login","params":[{"totp":{"login":{"user":{"username":"tess"},"password":"${PASSWORD}"},"code":"{{totp:{{secret}}}}"}}],"id":"2"}`,
      '< {"msg":"result","id":"2","result":{"id":"*","token":"{{=token}}","type":"password"}}',
      '> {"msg":"method","method":"echo","params":["{{token}}"],"id":"3"}',
      '< {"msg":"result","id":"3","result":["{{token}}"]}',
    ].join('\n'));
    const r = await runCli(['script', file, '--url', `http://127.0.0.1:${t.port}`, '--var', 'who=world', '--var', `secret=${secret}`]);
    expect(r.stderr).to.equal('');
    expect(r.code, r.stdout).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.include('✓ line 5 < result id=1');
    expect(lines).to.include('✓ line 7 < ready subs=s1');
    expect(lines.at(-1)).to.equal('6 passed, 0 failed');
  });

  it('fails on a mismatch: the ✗ line names the step and shows what came, exit 1', async () => {
    const file = tempFile('fail.ddp', [
      '> {"msg":"connect","version":"1","support":["1"]}',
      '< {"msg":"connected"}',
      '> {"msg":"method","method":"echo","params":[41],"id":"1"}',
      '< {"msg":"result","id":"1","result":[42]}',
    ].join('\n'));
    const r = await runCli(['script', file, '--url', t.url, '--timeout', '400']);
    expect(r.code).to.equal(1);
    const lines = r.stdout.trim().split('\n');
    const failed = lines.find((l) => l.startsWith('✗'));
    expect(failed).to.match(/^✗ line 4: expected \{"msg":"result","id":"1","result":\[42\]\} within 400 ms; last messages: .*"result":\[41\]/);
    expect(lines.at(-1)).to.equal('1 passed, 1 failed');
    expect(r.stderr).to.contain('1 step of fail.ddp failed');
  });

  it('refuses a malformed transcript with exit 2, naming the line, without connecting', async () => {
    const port = await closedPort();
    const file = tempFile('bad.ddp', '> {"msg":"connect","version":"1","support":["1"]}\n\n< {"msg":"connected"\n');
    const r = await runInProcess(['script', file, '--url', `ws://127.0.0.1:${port}`]);
    expect(r.code).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/bad\.ddp:3: the JSON after '<' does not parse/);
  });

  it('exits 5 when the server cannot be reached', async () => {
    const port = await closedPort();
    const file = tempFile('any.ddp', '> {"msg":"connect","version":"1","support":["1"]}\n');
    const r = await runInProcess(['script', file, '--url', `ws://127.0.0.1:${port}/websocket`, '--timeout', '2000']);
    expect(r.code).to.equal(5);
    expect(r.stderr).to.contain(`Cannot connect to ws://127.0.0.1:${port}/websocket`);
  });
});

describe('cli: ddp-guard script against a minimal DDP server on raw ws', () => {
  let wss: WebSocketServer;
  let url: string;
  /** Every frame the minimal server received. */
  const received: unknown[] = [];

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/websocket`;
    wss.on('connection', (socket: WebSocket) => {
      const send = (m: unknown): void => socket.send(JSON.stringify(m));
      socket.on('message', (data) => {
        const m = JSON.parse(String(data)) as { msg?: string; id?: string; method?: string; params?: number[] };
        received.push(m);
        if (m.msg === 'connect') {
          send({ server_id: '0' });
          send({ msg: 'connected', session: 'raw-session-1' });
        } else if (m.msg === 'method' && m.method === 'add') {
          // A ping, a stray document and `updated` before the result: the transcript must cope.
          send({ msg: 'ping', id: 'p1' });
          send({ msg: 'added', collection: 'noise', id: 'n1', fields: {} });
          send({ msg: 'updated', methods: [m.id] });
          send({ msg: 'result', id: m.id, result: (m.params ?? []).reduce((a, b) => a + b, 0) });
        }
      });
    });
  });

  after(async () => {
    killChildren();
    removeTempFiles();
    for (const client of wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  });

  it('passes, skipping messages in between, answering the ping, and matching a skipped message later', async () => {
    const file = tempFile('raw.ddp', [
      '> {"msg":"connect","version":"1","support":["1"]}',
      '< {"msg":"connected","session":"raw-*"}',
      '> {"msg":"method","method":"add","params":[2,3],"id":"7"}',
      '< {"msg":"result","id":"7","result":5}',
      '# arrived before the result, kept in the backlog:',
      '< {"msg":"updated","methods":["7"]}',
      'sleep 50',
    ].join('\n'));
    const r = await runCli(['script', file, '--url', url]);
    expect(r.stderr).to.equal('');
    expect(r.code, r.stdout).to.equal(0);
    expect(r.stdout.trim().split('\n').at(-1)).to.equal('3 passed, 0 failed');
    expect(received).to.deep.include({ msg: 'pong', id: 'p1' });
  });
});
