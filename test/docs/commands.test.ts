/**
 * Every command of the README and of docs/*.md, run as written, in order, against the example
 * chat (examples/chat/app.js) started by the tour's own `ddp-guard serve --app …` line: the
 * `call`, `shell` (its `ddp>` lines typed in), `script` (the transcript saved as the page
 * says) and `curl` examples, each expected to exit 0 and to print what the `# → …` line under
 * it shows (its literal `"key":value` pairs). Usage lines are checked against `--help`. A
 * block that is not run says why in a `<!-- docs-test: skip (…) -->` marker, and this test
 * fails on any `sh` block that is neither run nor marked.
 *
 * The order is fixed (pages.ts, RUN_FIRST): the README's tour, which starts the server and
 * enrols alice, then docs/http-api.md and docs/cli.md, which go on from its state (alice's
 * login tokens, her authenticator app), then every other page by name.
 *
 * What a reader types differently, the test does too, and only that: the port (3000 may be
 * taken on a test machine: the server gets `DDP_GUARD_PORT`, URLs the same port), the
 * authenticator codes (the tour's 540583, 754908 and 318042 stand for the code the app
 * shows: the test computes alice's), the backup code 7KQ2MX9DPF (one of those alice got), and
 * `$USER_ID`/`$TOKEN`/`$BOB_ID`/`$BOB_TOKEN`, which the pages say to take from the login
 * answers. `ddp-guard` is on the PATH as an installed package puts it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { cliEntry, pagesInRunOrder, root } from './pages.js';
import { codeBlocks, commandsOf, compactOutput, expectedPairs, synopsisOf, type CodeBlock, type Command } from './readme-commands.js';
import { freePort } from '../helpers/ports.js';

const CLI = cliEntry();
const EXAMPLE_CODES = ['540583', '754908', '318042'];
const EXAMPLE_BACKUP_CODE = '7KQ2MX9DPF';
const STEP_MS = 30_000;

/** What the reader carries from one command to the next. */
class Reader {
  readonly env: NodeJS.ProcessEnv;
  secret: string | null = null;
  backupCodes: string[] = [];
  lastStep = -Infinity;

  constructor(readonly cwd: string, bin: string, readonly port: number) {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DDP_GUARD_')) env[k] = v;
    this.env = { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, DDP_GUARD_PORT: String(port) };
  }

  /** The code alice's app shows for a step not used yet, waiting for the clock when needed. */
  async code(): Promise<string> {
    if (this.secret === null) throw new Error('a code is asked for before alice has an authenticator app');
    let now = Date.now();
    const step = Math.max(this.lastStep + 1, Math.floor(now / STEP_MS) - 1);
    // The server takes one step of drift each way: wait until `step` is within it.
    while (step > Math.floor(now / STEP_MS) + 1) {
      await new Promise((r) => setTimeout(r, 250));
      now = Date.now();
    }
    this.lastStep = step;
    return generateTotpCode(this.secret, step * STEP_MS);
  }

  /** The command as the reader types it. */
  async typed(command: string): Promise<string> {
    let text = command.replaceAll('127.0.0.1:3000', `127.0.0.1:${this.port}`);
    for (const example of EXAMPLE_CODES) {
      if (text.includes(example)) text = text.replaceAll(example, await this.code());
    }
    if (text.includes(EXAMPLE_BACKUP_CODE)) {
      const backup = this.backupCodes.shift();
      if (backup === undefined) throw new Error('no backup code left');
      text = text.replaceAll(EXAMPLE_BACKUP_CODE, backup);
    }
    return text;
  }

  /** Takes what later commands need from an answer: the secret, backup codes, login tokens. */
  learn(command: string, stdout: string): void {
    let answer: unknown;
    try {
      answer = JSON.parse(stdout);
    } catch {
      return;
    }
    const a = answer as { secret?: unknown; codes?: unknown; status?: unknown; data?: { userId?: unknown; authToken?: unknown } };
    if (command.includes('2fa:enable') && typeof a.secret === 'string') this.secret = a.secret;
    if (command.includes('2fa:validateTempToken') && Array.isArray(a.codes)) this.backupCodes = a.codes.filter((c): c is string => typeof c === 'string');
    if (a.status === 'success' && typeof a.data?.userId === 'string' && typeof a.data.authToken === 'string') {
      const bob = /"user":"bob"/.test(command);
      this.env[bob ? 'BOB_ID' : 'USER_ID'] = a.data.userId;
      this.env[bob ? 'BOB_TOKEN' : 'TOKEN'] = a.data.authToken;
    }
  }
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runShell(reader: Reader, command: string, input = ''): Ran {
  const result = spawnSync('bash', ['-c', command], { cwd: reader.cwd, env: reader.env, input, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A block with the page it is on, for messages. */
interface PageBlock extends CodeBlock {
  readonly page: string;
}

describe('docs: every command runs as written against the example chat', function () {
  this.timeout(240_000);
  let dir: string;
  let reader: Reader;
  const servers: ChildProcess[] = [];
  const pages = pagesInRunOrder();
  const blocks: PageBlock[] = pages.flatMap((page) => codeBlocks(page.text).map((b) => ({ ...b, page: page.path })));

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-readme-'));
    const bin = path.join(dir, 'bin');
    const work = path.join(dir, 'work');
    mkdirSync(bin);
    mkdirSync(work);
    writeFileSync(path.join(bin, 'ddp-guard'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(path.join(bin, 'ddp-guard'), 0o755);
    // The pages' commands run from the repository root, where examples/ is.
    symlinkSync(path.join(root, 'examples'), path.join(work, 'examples'));
    reader = new Reader(work, bin, await freePort());
  });

  after(() => {
    for (const child of servers) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every sh block is run, or marked with why not', () => {
    const unmarked = blocks.filter((b) => b.lang === 'sh' && b.marker !== null && !/^(skip \(.+\)|synopsis)$/.test(b.marker));
    expect(unmarked.map((b) => `${b.page} line ${b.line}: ${b.marker ?? ''}`), 'sh blocks with an unknown marker').to.deep.equal([]);
    expect(blocks.filter((b) => b.lang === 'sh' && b.marker === null).length, 'sh blocks run').to.be.greaterThan(5);
  });

  it('usage lines name only flags that --help lists', () => {
    const problems: string[] = [];
    for (const block of blocks.filter((b) => b.marker === 'synopsis')) {
      const entries: { command: string[]; flags: string[] }[] = [];
      for (const line of block.lines) {
        const parsed = synopsisOf(line);
        if (parsed) entries.push(parsed);
        else entries.at(-1)?.flags.push(...(synopsisOf(`ddp-guard ${line}`)?.flags ?? []));
      }
      for (const { command, flags } of entries) {
        const help = spawnSync(process.execPath, [CLI, ...command, '--help'], { encoding: 'utf8' }).stdout;
        for (const flag of flags) if (!new RegExp(`${flag}(?![a-z-])`).test(help)) problems.push(`${block.page}: ddp-guard ${command.join(' ')}: ${flag} is not in --help`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('runs the commands in order, each as written, and each prints what its page shows', async () => {
    const ran: string[] = [];
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      if (block.lang === 'text' && block.marker?.startsWith('file ')) {
        writeFileSync(path.join(reader.cwd, block.marker.slice('file '.length).trim()), `${block.lines.join('\n')}\n`);
        continue;
      }
      if (block.lang !== 'sh' || block.marker !== null) continue;
      const next: PageBlock | undefined = blocks[i + 1];
      const stdin = next?.page === block.page && next.marker?.startsWith('stdin') ? next : null;
      const commands = commandsOf(block);
      for (const [n, command] of commands.entries()) {
        const input = stdin && n === commands.length - 1 ? stdin : null;
        await run(block.page, command, input);
        ran.push(command.text);
      }
    }
    expect(ran.some((c) => c.startsWith('ddp-guard serve'))).to.equal(true);
    expect(ran.filter((c) => c.startsWith('curl')).length, 'curl commands run').to.be.greaterThan(8);
  });

  async function run(page: string, command: Command, stdinBlock: CodeBlock | null): Promise<void> {
    const where = `${page} line ${command.line}: ${command.text}`;
    // A bare assignment (B=http://…) is kept for the next commands, as a shell would.
    const assignment = /^([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(command.text);
    if (assignment) {
      reader.env[assignment[1]!] = await reader.typed(assignment[2]!);
      return;
    }
    const text = await reader.typed(command.text);
    if (/^ddp-guard serve\b/.test(text)) {
      servers.push(await startInBackground(text, where));
      return;
    }
    const typedIn = stdinBlock ? stdinBlock.lines.filter((l) => l.startsWith('ddp> ')).map((l) => l.slice(5)).join('\n') + '\n' : '';
    const result = runShell(reader, text, typedIn);
    expect(result.code, `${where}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).to.equal(0);
    const output = compactOutput(result.stdout);
    for (const answer of command.answers) {
      for (const pair of expectedPairs(answer)) expect(output, `${where}: the page shows ${pair}`).to.contain(pair);
    }
    if (stdinBlock) {
      // Each line the shell prints on the page, up to its first document or elision.
      for (const line of stdinBlock.lines.filter((l) => !l.startsWith('ddp> '))) {
        const shown = line.split(/[{…]/)[0]!.trim();
        expect(result.stdout, `${where}: the shell shows "${shown}"`).to.contain(shown);
      }
    }
    reader.learn(text, result.stdout);
  }

  function startInBackground(text: string, where: string): Promise<ChildProcess> {
    const child = spawn('bash', ['-c', `exec ${text}`], { cwd: reader.cwd, env: reader.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${where}: not listening after 10 s; stderr: ${stderr}`)), 10_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes(`listening on ws://127.0.0.1:${reader.port}/websocket`)) {
          clearTimeout(timer);
          resolve(child);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${where}: exited with ${code}; stderr: ${stderr}`));
      });
    });
  }
});
