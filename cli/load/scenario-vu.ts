/**
 * A virtual user that runs a scenario module (`--scenario file.mjs`): the module's default
 * export is called once per iteration with a {@link ScenarioApi} whose client is connected and
 * logged in as the user's account (two-factor challenges answered from its TOTP secret). The
 * connection is kept across iterations; calls and subscriptions made through the API are timed.
 *
 * ```js
 * // scenario.mjs
 * export default async function ({ call, subscribe, sleep, vu }) {
 *   await call('echo', `hello from ${vu.username}`);
 *   const rooms = await subscribe('rooms');
 *   rooms.stop();
 *   await sleep(100);
 * }
 * ```
 * @module
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createNodeClient, DdpError, type DdpClient, type SubscriptionHandle } from '../../client/node.js';
import { twoFactorHandler } from '../remote.js';
import type { Recorder } from './stats.js';
import { sleep } from './totp-pacer.js';
import type { LoadUser } from './users.js';
import { errorCode } from './transcript-vu.js';

/** What a scenario function receives. */
export interface ScenarioApi {
  /** Calls a method and resolves with its result; timed under the method's name. */
  call(name: string, ...params: unknown[]): Promise<unknown>;
  /** Subscribes and resolves once the subscription is ready; timed under its name. */
  subscribe(name: string, ...params: unknown[]): Promise<SubscriptionHandle>;
  /** Waits `ms` (ends early when the run stops). */
  sleep(ms: number): Promise<void>;
  /** The connected, logged-in ddp-guard client (calls made on it directly are not timed). */
  client: DdpClient;
  /** This virtual user: its number from 1, its username (if any) and iteration count. */
  vu: { id: number; username: string | undefined; iteration: number };
}

/** The default export of a scenario module. */
export type ScenarioFunction = (api: ScenarioApi) => Promise<void> | void;

/** Loads the module. @throws Error naming what is wrong with it. */
export async function loadScenario(file: string): Promise<ScenarioFunction> {
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (typeof module.default !== 'function') throw new Error(`${file} has no default export function (export default async function ({ call, subscribe, sleep, vu }) { ... })`);
  return module.default as ScenarioFunction;
}

/** What every scenario virtual user shares. */
export interface ScenarioVuShared {
  url: string;
  scenario: ScenarioFunction;
  timeoutMs: number;
  recorder: Recorder;
  stop: AbortSignal;
}

const TIMED = Symbol('timed');

/** One scenario virtual user. */
export class ScenarioVu {
  #client: DdpClient | undefined;
  #api: ScenarioApi | undefined;
  #iteration = 0;

  constructor(
    private readonly shared: ScenarioVuShared,
    private readonly id: number,
    private readonly user: LoadUser | undefined,
  ) {}

  /** Runs the scenario once, connecting and logging in first when needed. */
  async iterate(lateMs: number): Promise<void> {
    const { recorder } = this.shared;
    if (!this.#api || this.#client?.status !== 'connected') {
      if (!(await this.#connect(lateMs))) return;
    }
    const api = this.#api!;
    api.vu.iteration = ++this.#iteration;
    this.#late = lateMs;
    try {
      await this.shared.scenario(api);
    } catch (err) {
      if (this.shared.stop.aborted) return;
      if (typeof err === 'object' && err !== null && TIMED in err) return; // Already counted by call().
      recorder.error(`scenario-error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #late = 0;

  close(): void {
    this.#client?.close();
  }

  async #connect(lateMs: number): Promise<boolean> {
    const { recorder, url, timeoutMs } = this.shared;
    this.#client?.close();
    const user = this.user;
    const client = createNodeClient(url, {
      reconnect: false,
      connectTimeoutMs: timeoutMs,
      callTimeoutMs: timeoutMs,
      ...(user?.totpSecret !== undefined ? { onTwoFactorRequired: twoFactorHandler({ totpSecret: user.totpSecret }) } : {}),
    });
    this.#client = client;
    const t0 = performance.now() - lateMs;
    try {
      await client.connect();
      recorder.record('connect', 'connect', performance.now() - t0);
    } catch (err) {
      recorder.record('connect', 'connect', performance.now() - t0, err instanceof DdpError ? String(err.error) : 'connect-failed');
      client.close();
      return false;
    }
    if (user) {
      const l0 = performance.now();
      try {
        if (user.token !== undefined) await client.loginWithToken(user.token);
        else await client.loginWithPassword(user.username!, user.password!);
        recorder.record('login', 'login', performance.now() - l0);
      } catch (err) {
        recorder.record('login', 'login', performance.now() - l0, err instanceof DdpError ? String(err.error) : 'login-failed');
        client.close();
        return false;
      }
    }
    this.#api = this.#makeApi(client);
    return true;
  }

  #makeApi(client: DdpClient): ScenarioApi {
    const { recorder, stop } = this.shared;
    const timed = async <T>(kind: 'method' | 'sub', name: string, run: () => Promise<T>): Promise<T> => {
      const t0 = performance.now() - this.#late;
      try {
        const value = await run();
        recorder.record(kind, name, performance.now() - t0);
        return value;
      } catch (err) {
        if (stop.aborted) throw err;
        recorder.record(kind, name, performance.now() - t0, err instanceof DdpError ? String(err.error) : (errorCode(err) ?? 'error'));
        if (typeof err === 'object' && err !== null) Object.defineProperty(err, TIMED, { value: true });
        throw err;
      }
    };
    return {
      call: (name, ...params) => timed('method', name, () => client.apply(name, params)),
      subscribe: (name, ...params) =>
        timed('sub', name, async () => {
          const handle = client.subscribe(name, ...params);
          await handle.ready;
          return handle;
        }),
      sleep: (ms) => sleep(ms, stop),
      client,
      vu: { id: this.id, username: this.user?.username, iteration: 0 },
    };
  }
}
