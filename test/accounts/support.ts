/**
 * Shared set-up of the accounts tests: a real server on port 0 (through the project's
 * `startServer` helper), users created the way the CLI creates them, Meteor's client-side
 * password digest, and temporary folders.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GuardServer, ServerOptions } from '../../server/index.js';
import type { Services } from '../../server/services/services.js';
import type { UserRecord } from '../../server/storage/contract.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { startServer } from '../helpers/server.js';

/** What Meteor's client sends: `{digest: SHA256(password) as hex, algorithm: 'sha-256'}`. */
export function meteorPassword(plain: string): { digest: string; algorithm: 'sha-256' } {
  return { digest: createHash('sha256').update(plain, 'utf8').digest('hex'), algorithm: 'sha-256' };
}

/** Meteor's `Accounts._hashLoginToken`: base64 sha-256 of the token. */
export function meteorHashedToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64');
}

/** A server with accounts; the accounts rate limit is lifted unless the test sets it. */
export async function startAccountsServer(options: ServerOptions = {}, setup?: (server: GuardServer) => void | Promise<void>): Promise<{ server: GuardServer; services: Services; url: string }> {
  const server = await startServer({ accountsRateLimitCount: 1000, ...options }, setup);
  const services = await server.services.get();
  return { server, services, url: server.url };
}

/** Create a user as `ddp-guard user add` does. */
export function addUser(services: Services, input: { username: string; email?: string; password?: string; verified?: boolean }): Promise<UserRecord> {
  return createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, input);
}

/** A fresh temporary folder, removed by {@link removeTempDirs}. */
const dirs: string[] = [];
export function tempDir(prefix = 'ddp-guard-accounts-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fixed, realistic starting time for manual clocks. */
export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

export const DAY_MS = 24 * 3600 * 1000;
