/** Small waiting helpers for socket tests: poll a condition, wait for an event, sleep. */
import type { Emitter } from '../../../client/emitter.js';

/** Sleep. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `condition()` is truthy; fail with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** Resolve with the arguments of the next `event`; fail after `timeoutMs`. */
export function nextEvent<E extends { [K in keyof E]: unknown[] }, K extends keyof E>(emitter: Emitter<E>, event: K, timeoutMs = 5000): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for event '${String(event)}'`));
    }, timeoutMs);
    const off = emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Settle a promise into a value or an error, for assertions on rejections. */
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}
