/**
 * The dispatcher: registry lookup (404), the hook pipeline, then the handler with its `this`.
 * Used by DDP sessions, the HTTP API and in-process calls alike, so every path gets the same
 * rate limits, guard and parameter checks.
 */
import { catalogueError } from '../../protocol/errors.js';
import type { Caller } from './caller.js';
import type { CallMemory } from './call-memory.js';
import type { ConnectionInfo } from './connection-info.js';
import type { MethodRegistry, MethodThis, TwoFactorPass } from './method-registry.js';
import type { MethodCall, Pipeline } from './pipeline.js';

export interface InvokeRequest {
  name: string;
  params: unknown[];
  caller: Caller;
  randomSeed?: string;
  /** Lets the connection's next message start (DDP only). */
  unblock?: () => void;
  /** How the calling method passed the 2FA guard, if it did. */
  twoFactorPass?: TwoFactorPass | null;
  /** Made by a method through `this.call` (logs tell nested calls apart). */
  nested?: boolean;
}

/** What an observer (logs, metrics) sees of a call: never its parameters or its result. */
export interface ObservedCall {
  readonly name: string;
  /** False when no such method exists (the call fails with 404). */
  readonly registered: boolean;
  readonly caller: Caller;
  readonly nested: boolean;
  /** The caller's user when the call started (`login` and `logout` change it). */
  readonly userIdAtStart: string | null;
  /** The caller's user when the call ended (the same as at the start until then). */
  readonly userIdAtEnd: string | null;
}

/**
 * Told about every call the dispatcher runs, refusals by hooks included. Observers must not
 * throw; `error` is the raw error (`failed` tells an `undefined` throw from success).
 */
export interface MethodObserver {
  started(call: ObservedCall): void;
  finished(call: ObservedCall, failed: boolean, error: unknown, durationMs: number): void;
}

/** One observed call: what observers see, and how it ended (one object per call). */
class CallRecord implements ObservedCall {
  readonly name: string;
  readonly caller: Caller;
  readonly nested: boolean;
  readonly userIdAtStart: string | null;
  userIdAtEnd: string | null;
  failed = false;
  error: unknown = undefined;
  durationMs = 0;
  private readonly startedAt = performance.now();

  constructor(request: InvokeRequest, readonly registered: boolean, readonly observers: readonly MethodObserver[]) {
    this.name = request.name;
    this.caller = request.caller;
    this.nested = request.nested === true;
    this.userIdAtStart = this.userIdAtEnd = request.caller.userId;
  }

  end(failed: boolean, error: unknown): void {
    this.durationMs = performance.now() - this.startedAt;
    this.userIdAtEnd = this.caller.userId;
    this.failed = failed;
    this.error = error;
  }
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
    return this.call_.twoFactorPass !== null;
  }
  unblock(): void {
    this.unblock_?.();
  }
  setUserId(userId: string | null): Promise<void> {
    return this.call_.caller.setUser(userId, null);
  }
  async call(name: string, ...params: unknown[]): Promise<unknown> {
    return this.dispatcher.invoke({ name, params, caller: this.call_.caller, twoFactorPass: this.call_.twoFactorPass, nested: true });
  }
}

export class Dispatcher {
  private observers: readonly MethodObserver[] = [];
  private memory: CallMemory | null = null;

  constructor(
    private readonly registry: MethodRegistry,
    private readonly pipeline: Pipeline,
  ) {}

  /** Tell `observer` about every call from now on (structured logs, metrics). */
  observe(observer: MethodObserver): void {
    this.observers = [...this.observers, observer];
  }

  /**
   * Remember the outcomes of calls with a `randomSeed` and a user, so a re-sent call runs once
   * (see `call-memory.ts`). Nested calls, anonymous callers and methods whose result is a
   * credential (`secretResult`) run as before.
   */
  rememberCalls(memory: CallMemory): void {
    this.memory = memory;
  }

  /**
   * Run a method. Returns the result, or a promise of it when a hook or the handler is
   * asynchronous; throws (or rejects with) the raw error, which the transport turns into a wire
   * error.
   */
  invoke(request: InvokeRequest): unknown {
    return this.observers.length === 0 ? this.run(request) : this.runObserved(request, this.observers);
  }

  private runObserved(request: InvokeRequest, observers: readonly MethodObserver[]): unknown {
    const definition = this.registry.get(request.name);
    const call = new CallRecord(request, definition !== undefined, observers);
    for (const o of observers) o.started(call);
    let result: unknown;
    try {
      result = this.run(request, definition);
    } catch (err) {
      this.finished(call, true, err);
      throw err;
    }
    if (!(result instanceof Promise)) {
      this.finished(call, false, undefined);
      return result;
    }
    return result.then(
      (value: unknown) => {
        this.finished(call, false, undefined);
        return value;
      },
      (err: unknown) => {
        this.finished(call, true, err);
        throw err;
      },
    );
  }

  /**
   * Tell the observers a call ended — after the caller's reply is written, not before: the
   * duration is taken now, but the log line and metrics wait for the end of the current
   * microtask checkpoint, so a client never waits for the server's own bookkeeping. (The DDP
   * transport corks a socket while it handles a chunk; the reply leaves when the chunk is done,
   * and this batch runs right after.)
   */
  private finished(call: CallRecord, failed: boolean, error: unknown): void {
    call.end(failed, error);
    if (this.ended === null) {
      this.ended = [call];
      queueMicrotask(this.flushEnded);
    } else {
      this.ended.push(call);
    }
  }

  private ended: CallRecord[] | null = null;

  private readonly flushEnded = (): void => {
    const batch = this.ended ?? [];
    this.ended = null;
    let firstError: unknown = null;
    for (const call of batch) {
      for (const o of call.observers) {
        try {
          o.finished(call, call.failed, call.error, call.durationMs);
        } catch (err) {
          firstError ??= err;
        }
      }
    }
    // Observers must not throw; one that does is a bug, reported as any other uncaught error —
    // after the rest of the batch was told.
    if (firstError !== null) throw firstError;
  };

  private run(request: InvokeRequest, definition = this.registry.get(request.name)): unknown {
    if (!definition) throw catalogueError('methodNotFound', request.name);
    const call: MethodCall = {
      kind: 'method',
      name: request.name,
      params: request.params,
      definition,
      caller: request.caller,
      twoFactorPass: request.twoFactorPass ?? null,
      randomSeed: request.randomSeed,
    };
    const userId = request.caller.userId;
    if (this.memory !== null && request.randomSeed !== undefined && userId !== null && request.nested !== true && definition.options.secretResult !== true) {
      return this.memory.run({
        userId,
        seed: request.randomSeed,
        gate: () => this.pipeline.run(call),
        handle: () => this.handle(call, request.unblock),
        userIdNow: () => request.caller.userId,
      });
    }
    const gate = this.pipeline.run(call);
    if (gate === undefined) return this.handle(call, request.unblock);
    return gate.then(() => this.handle(call, request.unblock));
  }

  private handle(call: MethodCall, unblock: (() => void) | undefined): unknown {
    return call.definition.handler.apply(new MethodInvocation(this, call, unblock), call.params);
  }
}
