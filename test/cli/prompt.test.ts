import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { CliError } from '../../cli/exit-status.js';
import type { CliIo } from '../../cli/io.js';
import { obtainPassword } from '../../cli/prompt.js';

/** A stdin that looks like a terminal, with the raw-mode switches recorded. */
function fakeTerminal(isTTY: boolean): { stdin: NodeJS.ReadStream; rawModes: boolean[] } {
  const rawModes: boolean[] = [];
  const stream = new PassThrough() as unknown as NodeJS.ReadStream & { isTTY: boolean };
  stream.isTTY = isTTY;
  stream.setRawMode = (mode: boolean) => (rawModes.push(mode), stream);
  return { stdin: stream, rawModes };
}

function fakeIo(stdin: NodeJS.ReadStream): CliIo & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    env: {},
    cwd: '/',
    stdin,
    out: () => undefined,
    err: () => undefined,
    ask: (text) => void asked.push(text),
    exit: () => undefined,
    onSignal: () => undefined,
  };
}

async function failure(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(CliError);
    return err as CliError;
  }
  return expect.fail('expected a CliError');
}

describe('cli/prompt: obtainPassword', () => {
  it('takes --password as given', async () => {
    expect(await obtainPassword(fakeIo(fakeTerminal(false).stdin), { password: 'pw' }, 'Password: ')).to.equal('pw');
  });

  it('reads the first line of stdin with --password-stdin', async () => {
    const { stdin } = fakeTerminal(false);
    const promise = obtainPassword(fakeIo(stdin), { passwordStdin: true }, 'Password: ');
    (stdin as unknown as PassThrough).end('s3 cret\r\nignored\n');
    expect(await promise).to.equal('s3 cret');
  });

  it('asks twice on a terminal in raw mode, handling backspace, and restores the mode', async () => {
    const { stdin, rawModes } = fakeTerminal(true);
    const io = fakeIo(stdin);
    const promise = obtainPassword(io, {}, 'Password: ');
    const input = stdin as unknown as PassThrough;
    input.write('pax\u007fss\r');
    await new Promise((resolve) => setImmediate(resolve));
    input.write('pass\n');
    expect(await promise).to.equal('pass');
    expect(io.asked.filter((t) => t.trim() !== '')).to.deep.equal(['Password: ', 'Repeat it: ']);
    expect(rawModes).to.deep.equal([true, false, true, false]);
  });

  it('fails when the two answers differ, on Ctrl-C, and without a terminal', async () => {
    const differ = fakeTerminal(true);
    const p1 = obtainPassword(fakeIo(differ.stdin), {}, 'Password: ');
    (differ.stdin as unknown as PassThrough).write('a\r');
    await new Promise((resolve) => setImmediate(resolve));
    (differ.stdin as unknown as PassThrough).write('b\r');
    expect((await failure(p1)).message).to.match(/differ/);

    const cancel = fakeTerminal(true);
    const p2 = obtainPassword(fakeIo(cancel.stdin), {}, 'Password: ');
    (cancel.stdin as unknown as PassThrough).write('ab\u0003');
    expect((await failure(p2)).message).to.match(/Cancelled/);
    expect(cancel.rawModes).to.deep.equal([true, false]);

    const err = await failure(obtainPassword(fakeIo(fakeTerminal(false).stdin), {}, 'Password: '));
    expect(err.exitCode).to.equal(2);
    expect(err.message).to.contain('--password-stdin');
  });
});
