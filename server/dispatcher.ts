/**
 * The dispatcher: registry lookup (404), the hook pipeline, then the handler with its `this`.
 * Used by DDP sessions, the HTTP API and in-process calls alike, so every path gets the same
 * rate limits, guard and parameter checks.
 */
import { catalogueError } from '../protocol/errors.js';
import type { Caller } from './caller.js';
import type { ConnectionInfo } from './connection-info.js';
import type { MethodRegistry, MethodThis } from './methods.js';
import type { MethodCall, Pipeline } from './pipeline.js';

export interface InvokeRequest {
  name: string;
  params: unknown[];
  caller: Caller;
  randomSeed?: string;
  /** Lets the connection's next message start (DDP only). */
  unblock?: () => void;
  /** The 2FA state inherited from a calling method. */
  twoFactorChecked?: boolean;
}

const CALLER = Symbol('caller');

/**
 * The caller behind a method's `this` — for built-in account and 2FA methods, which change the
 * login. Application code uses `this.userId` and `this.connection`.
 */
export function callerOf(self: MethodThis): Caller {
  const caller = (self as Partial<Record<typeof CALLER, Caller>>)[CALLER];
  if (!caller) throw new Error('callerOf() needs the `this` of a method invocation');
  return caller;
}

class MethodInvocation implements MethodThis {
  readonly isSimulation = false as const;

  get [CALLER](): Caller {
    return this.call_.caller;
  }

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly call_: MethodCall,
    private readonly unblock_: (() => void) | undefined,
  ) {}

  get name(): string {
    return this.call_.name;
  }
  get userId(): string | null {
    return this.call_.caller.userId;
  }
  get connection(): ConnectionInfo | null {
    return this.call_.caller.connection;
  }
  get randomSeed(): string | undefined {
    return this.call_.randomSeed;
  }
  get twoFactorChecked(): boolean {
    return this.call_.twoFactorChecked;
  }
  unblock(): void {
    this.unblock_?.();
  }
  setUserId(userId: string | null): Promise<void> {
    return this.call_.caller.setUser(userId, null);
  }
  async call(name: string, ...params: unknown[]): Promise<unknown> {
    return this.dispatcher.invoke({ name, params, caller: this.call_.caller, twoFactorChecked: this.call_.twoFactorChecked });
  }
}

export class Dispatcher {
  constructor(
    private readonly registry: MethodRegistry,
    private readonly pipeline: Pipeline,
  ) {}

  /**
   * Run a method. Returns the result, or a promise of it when a hook or the handler is
   * asynchronous; throws (or rejects with) the raw error, which the transport turns into a wire
   * error.
   */
  invoke(request: InvokeRequest): unknown {
    const definition = this.registry.get(request.name);
    if (!definition) throw catalogueError('methodNotFound', request.name);
    const call: MethodCall = {
      kind: 'method',
      name: request.name,
      params: request.params,
      definition,
      caller: request.caller,
      twoFactorChecked: request.twoFactorChecked ?? false,
      ...(request.randomSeed === undefined ? {} : { randomSeed: request.randomSeed }),
    };
    const gate = this.pipeline.run(call);
    const run = (): unknown => definition.handler.apply(new MethodInvocation(this, call, request.unblock), call.params);
    if (gate === undefined) return run();
    return gate.then(run);
  }
}
