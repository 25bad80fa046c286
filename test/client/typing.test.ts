/**
 * The typed method map, checked by the TypeScript compiler itself: the right calls compile,
 * each wrong one is an error. The file also has to build (its `@ts-expect-error` lines fail
 * the build if a wrong call starts to type-check); the test compiles small programs against
 * the client's sources so that the check runs, and can fail, in the test run.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { DdpClient, type WebSocketConstructor } from '../../client/index.js';
import WebSocket from 'ws';
import { findRepoRoot } from '../docs/repo-root.js';

interface Api {
  add(a: number, b: number): number;
  greet(name: string, options?: { loud: boolean }): Promise<string>;
  nothing(): void;
}

const ROOT = findRepoRoot(import.meta.url);
const probeFile = (i: number): string => join(ROOT, 'test', 'client', `typing-probe-${i}.ts`);

/** Type errors of each body, compiled (in one program) after a typed and an untyped client are declared. */
function typeErrors(bodies: string[]): string[][] {
  const options: ts.CompilerOptions = { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true, types: ['node'] };
  const sources = new Map(bodies.map((body, i) => [probeFile(i), `import { DdpClient, type MethodResult } from '../../client/index.js';
import WebSocket from 'ws';
interface Api { add(a: number, b: number): number; greet(name: string, options?: { loud: boolean }): Promise<string>; nothing(): void }
const typed = new DdpClient<Api>('ws://127.0.0.1:1/websocket', { WebSocket });
const untyped = new DdpClient('ws://127.0.0.1:1/websocket', { WebSocket });
export async function probe(): Promise<unknown> {
  ${body}
}
void typed; void untyped; export type R = MethodResult<Api['greet']>;
`]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    const text = sources.get(name);
    return text === undefined ? getSourceFile(name, language, ...rest) : ts.createSourceFile(name, text, language);
  };
  host.fileExists = (name) => sources.has(name) || fileExists(name);
  const program = ts.createProgram([...sources.keys()], options, host);
  return bodies.map((_, i) => ts.getPreEmitDiagnostics(program, program.getSourceFile(probeFile(i))).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')));
}

describe('client typing', function () {
  // One compile of the client's sources per check.
  this.timeout(60_000);

  it('types calls by an optional method map, without any (compile-time, this file)', () => {
    const typed = new DdpClient<Api>('ws://127.0.0.1:1/websocket', { WebSocket });
    const untyped = new DdpClient('ws://127.0.0.1:1/websocket', { WebSocket });
    // Both browsers' and ws's constructors fit the injected type.
    const browserLike: WebSocketConstructor | undefined = (globalThis as { WebSocket?: typeof globalThis.WebSocket }).WebSocket;
    void browserLike;
    const checks = (): void => {
      const sum: Promise<number> = typed.call('add', 1, 2);
      const hello: Promise<string> = typed.call('greet', 'ann');
      const loud: Promise<string> = typed.apply('greet', ['ann', { loud: true }], { timeoutMs: 5 });
      // @ts-expect-error wrong parameter type
      void typed.call('add', '1', 2);
      // @ts-expect-error missing parameter
      void typed.call('add', 1);
      // @ts-expect-error unknown method
      void typed.call('nope');
      const anything: Promise<unknown> = untyped.call('whatever', 1, 'two', { three: 3 });
      void [sum, hello, loud, anything];
    };
    void checks; // never run: no server here
    typed.close();
    untyped.close();
  });

  it('the compiler accepts the right calls and refuses each wrong one', () => {
    const cases: Record<string, string> = {
      'the right calls': `
        const sum: number = await typed.call('add', 1, 2);
        const hello: string = await typed.call('greet', 'ann', { loud: true });
        const r: MethodResult<Api['greet']> = 'x';
        const anything: unknown = await untyped.call('whatever', 1, 'two');
        return [sum, hello, r, anything];`,
      'a wrong parameter type': `return typed.call('add', '1', 2);`,
      'a missing parameter': `return typed.call('add', 1);`,
      'an unknown method': `return typed.call('nope');`,
      'a wrong result type': `const n: number = await typed.call('greet', 'ann'); return n;`,
      "a result that is not the method's": `const r: MethodResult<Api['greet']> = 42; return r;`,
    };
    const errors = typeErrors(Object.values(cases));
    Object.keys(cases).forEach((what, i) => {
      if (i === 0) expect(errors[i], what).to.deep.equal([]);
      else expect(errors[i], what).to.have.length.greaterThan(0);
    });
  });
});
