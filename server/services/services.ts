/**
 * The outside world a server talks to, opened once before `listen()`: the store, the server
 * secret and the keys derived from it, the mailer and the bcrypt worker pool. Tests inject a
 * store or a mailer; everything else comes from the options.
 */
import path from 'node:path';
import type { ResolvedOptions } from './options.js';
import type { Logger } from '../runtime/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { Store } from '../storage/contract.js';
import { openStore } from '../storage/open.js';
import type { Mailer } from '../mail/mailer.js';
import { createSmtpMailer } from '../mail/smtp-mailer.js';
import { createOutboxMailer } from '../mail/outbox-mailer.js';
import { createPasswordHasher, passwordPoolSize, type PasswordHasher } from '../security/password-hasher.js';
import { KEY_PURPOSES, loadOrCreateServerSecret, type ServerSecret } from '../security/server-secret.js';
import { SecretBox } from '../security/crypto.js';
import { UserEvents } from './user-events.js';

export interface Services {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: Store;
  readonly mailer: Mailer;
  readonly hasher: PasswordHasher;
  readonly secret: ServerSecret;
  /** Encrypts TOTP secrets at rest. */
  readonly totpBox: SecretBox;
  /** Encrypts remembered call outcomes at rest. */
  readonly callResultBox: SecretBox;
  /** HMAC key of stored email and backup code hashes. */
  readonly codeKey: Buffer;
  /** HMAC key of trusted-client fingerprints. */
  readonly trustKey: Buffer;
  /** "This user's document changed" notifications (in-process; Redis relays them between processes). */
  readonly userEvents: UserEvents;
}

/** Things a caller may inject instead of having them made from the options. */
export interface ServiceOverrides {
  store?: Store;
  mailer?: Mailer;
  /** Wraps the mailer, injected or made (metrics count mail sent and failed). */
  decorateMailer?: (mailer: Mailer) => Mailer;
  /** Change events relayed to the other processes (the multi-process mode). */
  userEvents?: UserEvents;
}

function isInMemory(db: string): boolean {
  return db === ':memory:' || db === 'memory';
}

/** Opens services lazily, once; `get()` is what handlers await. */
export class ServiceContainer {
  private opening: Promise<Services> | null = null;
  private opened: Services | null = null;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly overrides: ServiceOverrides = {},
  ) {}

  /** The services, opening them on first use. */
  get(): Promise<Services> {
    if (this.opened) return Promise.resolve(this.opened);
    this.opening ??= this.open().then((s) => (this.opened = s));
    return this.opening;
  }

  /** The services if already open (synchronous fast path for hot hooks). */
  peek(): Services | null {
    return this.opened;
  }

  private async open(): Promise<Services> {
    const { options, logger, clock } = this;
    const store = this.overrides.store ?? (await openStore(options.db));
    const secretFile = isInMemory(options.db) || /^postgres/i.test(options.db) ? undefined : path.join(path.dirname(path.resolve(options.db)), 'ddp-guard.secret');
    const secret = await loadOrCreateServerSecret({ ...(options.secret === null ? {} : { secret: options.secret }), ...(secretFile === undefined ? {} : { file: secretFile }) });
    if (secret.insecurePermissions) logger.warn({ file: secret.file }, 'the server secret file is readable by other users: run chmod 600 on it');
    if (secret.source === 'ephemeral') logger.warn({}, 'no server secret configured for an in-memory database: using a random one for this process (TOTP secrets and trusted clients will not survive a restart)');
    let mailer = this.overrides.mailer;
    if (!mailer) {
      mailer = options.smtpUrl !== null
        ? createSmtpMailer({ url: options.smtpUrl, from: options.mailFrom })
        : createOutboxMailer({ dir: path.resolve(options.outboxDir), from: options.mailFrom, clock });
      if (options.smtpUrl === null) logger.info({ outbox: mailer.describe() }, `no SMTP server configured: mail is written to ${mailer.describe()}`);
    }
    if (this.overrides.decorateMailer) mailer = this.overrides.decorateMailer(mailer);
    const hasher = createPasswordHasher({
      cost: options.bcryptCost,
      size: passwordPoolSize(options.passwordWorkers),
      maxQueue: options.passwordQueueMax,
      maxWaitMs: options.passwordQueueMs,
    });
    logger.info({ store: store.kind, mail: mailer.describe() }, 'services ready');
    return {
      options, logger, clock, store, mailer, hasher, secret,
      totpBox: new SecretBox(secret.deriveKey(KEY_PURPOSES.totpSecret)),
      callResultBox: new SecretBox(secret.deriveKey(KEY_PURPOSES.callResult)),
      codeKey: secret.deriveKey(KEY_PURPOSES.codeHash),
      trustKey: secret.deriveKey(KEY_PURPOSES.trustedClient),
      userEvents: this.overrides.userEvents ?? new UserEvents(),
    };
  }

  async close(): Promise<void> {
    if (!this.opening) return;
    const services = await this.opening.catch(() => null);
    if (!services) return;
    await services.hasher.close();
    if (!this.overrides.mailer) services.mailer.close();
    if (!this.overrides.store) await services.store.close();
  }
}
