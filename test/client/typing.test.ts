/**
 * Compile-time checks of the typed method map: this file only has to build (the
 * `@ts-expect-error` lines fail the build if a wrong call starts to type-check).
 */
import { expect } from 'chai';
import { DdpClient, type MethodResult, type WebSocketConstructor } from '../../client/index.js';
import WebSocket from 'ws';

interface Api {
  add(a: number, b: number): number;
  greet(name: string, options?: { loud: boolean }): Promise<string>;
  nothing(): void;
}

describe('client typing', () => {
  it('types calls by an optional method map, without any', () => {
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
    const r: MethodResult<Api['greet']> = 'x';
    expect(r).to.equal('x');
    typed.close();
    untyped.close();
  });
});
