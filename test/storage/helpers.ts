/**
 * Shared pieces of the storage contract suite.
 */
import type { Store, UserRecord } from '../../server/storage/contract.js';

/** Gives each test the store opened for it by the suite's `beforeEach`. */
export type StoreGetter = () => Store;

/** A fixed instant, so expiry and lock-out tests never depend on the wall clock. */
export const T0 = new Date('2030-01-01T00:00:00.000Z');

/** `T0` plus `ms` milliseconds. */
export const at = (ms: number): Date => new Date(T0.getTime() + ms);

/** Resolves with the error `promise` rejected with; fails the test if it fulfilled. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

/** Creates a user named `name` with the address `<name>@example.com`. */
export function makeUser(store: Store, name: string): Promise<UserRecord> {
  return store.users.create({
    username: name,
    emails: [{ address: `${name}@example.com`, verified: true }],
    passwordHash: `hash-of-${name}`,
  });
}

/** Runs `n` copies of `op` concurrently and counts how many resolved to true. */
export async function countWinners(n: number, op: () => Promise<boolean>): Promise<number> {
  const results = await Promise.all(Array.from({ length: n }, op));
  return results.filter(Boolean).length;
}
