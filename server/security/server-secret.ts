import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deriveKey } from './crypto.js';

/** Minimum server secret size; 32 bytes matches the AES-256 / HMAC-SHA256 key size. */
export const MIN_SECRET_BYTES = 32;

/**
 * Purpose labels for {@link ServerSecret.deriveKey}. One label per use, so each use gets an
 * independent key. Changing a label invalidates everything made with the old key.
 */
export const KEY_PURPOSES = Object.freeze({
  /** HMAC key for the trusted-client fingerprint. */
  trustedClient: 'ddp-guard/trusted-client/v1',
  /** AES-256-GCM key for TOTP secrets at rest. */
  totpSecret: 'ddp-guard/totp-secret/v1',
  /** HMAC key for stored email and backup code hashes. */
  codeHash: 'ddp-guard/code-hash/v1',
  /** AES-256-GCM key for remembered call outcomes at rest (`server/calls/call-memory.ts`). */
  callResult: 'ddp-guard/call-result/v1',
});

/** Where the secret came from. */
export type ServerSecretSource = 'config' | 'file' | 'created-file' | 'ephemeral';

/** The server's master secret. The raw bytes are never exposed; only derived keys are. */
export interface ServerSecret {
  /** A 32-byte key for one purpose (HKDF-SHA256); see {@link KEY_PURPOSES}. */
  deriveKey(purpose: string): Buffer;
  readonly source: ServerSecretSource;
  /** The secret file, when one was read or created. */
  readonly file?: string;
  /**
   * True when an existing secret file is readable or writable by group or others. The
   * caller should warn: anyone who can read it can forge trusted-client fingerprints and
   * decrypt TOTP secrets.
   */
  readonly insecurePermissions: boolean;
}

/** Options for {@link loadOrCreateServerSecret}. */
export interface ServerSecretOptions {
  /** Path of the secret file; created (mode 0600) when missing. */
  file?: string;
  /** The secret itself, hex or base64, at least 32 bytes; takes precedence over `file`. */
  secret?: string;
}

class DerivingSecret implements ServerSecret {
  // A private field keeps the bytes out of console.log / util.inspect output.
  readonly #master: Buffer;
  readonly source: ServerSecretSource;
  readonly file?: string;
  readonly insecurePermissions: boolean;

  constructor(master: Buffer, source: ServerSecretSource, file?: string, insecurePermissions = false) {
    this.#master = Buffer.from(master);
    this.source = source;
    if (file !== undefined) this.file = file;
    this.insecurePermissions = insecurePermissions;
  }

  deriveKey(purpose: string): Buffer {
    return deriveKey(this.#master, purpose);
  }
}

/**
 * Parses a secret written as hex (only hex digits, even length) or else base64/base64url.
 * @throws Error naming the problem when the text is neither or decodes to < 32 bytes.
 */
export function parseSecretText(text: string, origin: string): Buffer {
  const t = text.trim();
  let bytes: Buffer;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(t)) {
    bytes = Buffer.from(t, 'hex');
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    bytes = Buffer.from(t, 'base64');
  } else {
    throw new Error(`server secret from ${origin} is not hex or base64`);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new Error(
      `server secret from ${origin} is too short: ${bytes.length} bytes, need at least ${MIN_SECRET_BYTES} ` +
        `(e.g. 64 hex digits; generate one with: openssl rand -hex 32)`,
    );
  }
  return bytes;
}

/** A random secret that lives only in memory; for `:memory:` databases and tests. */
export function ephemeralServerSecret(): ServerSecret {
  return new DerivingSecret(randomBytes(MIN_SECRET_BYTES), 'ephemeral');
}

/** A secret from known bytes; for tests that need reproducible keys. */
export function serverSecretFromBytes(bytes: Buffer): ServerSecret {
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new Error(`server secret is too short: ${bytes.length} bytes, need at least ${MIN_SECRET_BYTES}`);
  }
  return new DerivingSecret(bytes, 'config');
}

/**
 * Returns the server secret: from config when given, else from `file` (created with mode
 * 0600 when missing), else an ephemeral one.
 *
 * An existing but unreadable or invalid file is an error, never replaced: a new secret
 * would make every stored TOTP secret undecryptable.
 */
export async function loadOrCreateServerSecret(options: ServerSecretOptions = {}): Promise<ServerSecret> {
  if (options.secret !== undefined) {
    return new DerivingSecret(parseSecretText(options.secret, 'configuration'), 'config');
  }
  if (options.file === undefined) return ephemeralServerSecret();

  const file = path.resolve(options.file);
  const existing = await readSecretFile(file);
  if (existing) return existing;

  const created = await createSecretFile(file);
  // Lost a creation race with another process: use the winner's secret.
  return created ?? (await readSecretFileOrThrow(file));
}

async function readSecretFile(file: string): Promise<ServerSecret | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw new Error(`cannot read server secret file ${file}: ${describeError(err)}`);
  }
  const master = parseSecretText(text, `file ${file}`);
  const stat = await fs.stat(file);
  // Windows reports synthetic mode bits; the check is only meaningful on POSIX.
  const insecure = process.platform !== 'win32' && (stat.mode & 0o077) !== 0;
  return new DerivingSecret(master, 'file', file, insecure);
}

async function readSecretFileOrThrow(file: string): Promise<ServerSecret> {
  const s = await readSecretFile(file);
  if (!s) throw new Error(`server secret file ${file} disappeared while starting`);
  return s;
}

/**
 * Writes a fresh secret atomically: a temp file (0600, fsynced) is hard-linked into place,
 * which, unlike rename, fails if another process created the file first. Returns null when
 * that happens. Filesystems without hard links fall back to rename.
 */
async function createSecretFile(file: string): Promise<ServerSecret | null> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const master = randomBytes(MIN_SECRET_BYTES);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(master.toString('hex') + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, file);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      await fs.rm(tmp, { force: true });
      return null;
    }
    if (isErrno(err, 'EPERM') || isErrno(err, 'ENOTSUP') || isErrno(err, 'ENOSYS') || isErrno(err, 'EXDEV')) {
      await fs.rename(tmp, file);
      return new DerivingSecret(master, 'created-file', file, false);
    }
    await fs.rm(tmp, { force: true });
    throw new Error(`cannot create server secret file ${file}: ${describeError(err)}`);
  }
  await fs.rm(tmp, { force: true });
  return new DerivingSecret(master, 'created-file', file, false);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
