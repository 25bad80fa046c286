/**
 * `/healthz` (the process is up and answering) and `/readyz` (this process can serve: the store
 * answers a ping, Redis too when the server uses it, and, when SMTP is configured, the mail
 * server greets us). The mail check is
 * slow and talks to another service, so its result is kept for a while.
 */
import type { Logger } from '../runtime/logger.js';
import type { Services } from '../services/services.js';

/** What the checks read from the server. */
export interface HealthSource {
  isShuttingDown(): boolean;
  /** New connections are being refused at the open-file limit. */
  atDescriptorLimit?(): boolean;
  /** The services if open, else null (before `listen()`). */
  services(): Services | null;
  /** Check the mailer too (an SMTP URL is configured). */
  readonly checkMail: boolean;
  readonly logger: Logger;
}

export interface HealthOptions {
  /** How long one check may take before it counts as failed, in ms. @default 3000 */
  timeoutMs?: number;
  /** How long a mail check's result is reused, in ms. @default 30 s */
  mailCacheMs?: number;
  /** Pings Redis (servers with `redisUrl`); without it `/readyz` has no `redis` check. */
  redis?: () => Promise<void>;
}

export type CheckState = 'ok' | 'failed' | 'not-configured';

/** The body of `/readyz`: which checks passed; `failed` names the ones that did not. */
export interface Readiness {
  status: 'ok' | 'unavailable';
  /** `redis` only on a server that uses Redis. */
  checks: { server: 'ok' | 'shutting-down' | 'at-descriptor-limit'; store: CheckState; mail: CheckState; redis?: CheckState };
  failed: string[];
}

class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(ms)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).then(() => undefined).finally(() => clearTimeout(timer));
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class HealthChecks {
  private readonly timeoutMs: number;
  private readonly mailCacheMs: number;
  private readonly redis: (() => Promise<void>) | null;
  private mail: { ok: boolean; reason: string; at: number } | null = null;
  private mailChecking: Promise<{ ok: boolean; reason: string; at: number }> | null = null;
  /** The failures last logged, so a failing probe is logged once, not every few seconds. */
  private lastReported = '';

  constructor(private readonly source: HealthSource, options: HealthOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.mailCacheMs = options.mailCacheMs ?? 30_000;
    this.redis = options.redis ?? null;
  }

  /** Liveness: answering at all is the check. */
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  async ready(): Promise<Readiness> {
    const reasons: Record<string, string> = {};
    const services = this.source.services();
    const shuttingDown = this.source.isShuttingDown();
    const atLimit = !shuttingDown && (this.source.atDescriptorLimit?.() ?? false);
    if (shuttingDown) reasons.server = 'shutting down';
    if (atLimit) reasons.server = 'at the open-file limit: new connections are refused';
    const [store, mail, redis] = await Promise.all([
      this.checkStore(services, reasons),
      this.checkMail(services, reasons),
      this.checkRedis(reasons),
    ]);
    const failed = Object.keys(reasons);
    this.report(reasons);
    const checks: Readiness['checks'] = { server: shuttingDown ? 'shutting-down' : atLimit ? 'at-descriptor-limit' : 'ok', store, mail };
    if (redis !== null) checks.redis = redis;
    return { status: failed.length === 0 ? 'ok' : 'unavailable', checks, failed };
  }

  private async checkStore(services: Services | null, reasons: Record<string, string>): Promise<CheckState> {
    if (!services) {
      reasons.store = 'not open yet';
      return 'failed';
    }
    try {
      await withTimeout(services.store.ping(), this.timeoutMs);
      return 'ok';
    } catch (err) {
      reasons.store = reasonOf(err);
      return 'failed';
    }
  }

  private async checkRedis(reasons: Record<string, string>): Promise<CheckState | null> {
    if (!this.redis) return null;
    try {
      await withTimeout(this.redis(), this.timeoutMs);
      return 'ok';
    } catch (err) {
      reasons.redis = reasonOf(err);
      return 'failed';
    }
  }

  private async checkMail(services: Services | null, reasons: Record<string, string>): Promise<CheckState> {
    if (!this.source.checkMail) return 'not-configured';
    if (!services) {
      reasons.mail = 'not open yet';
      return 'failed';
    }
    const now = performance.now();
    let result = this.mail;
    if (!result || now - result.at >= this.mailCacheMs) {
      this.mailChecking ??= withTimeout(services.mailer.verify(), this.timeoutMs)
        .then(() => ({ ok: true, reason: '' }), (err: unknown) => ({ ok: false, reason: reasonOf(err) }))
        .then((r) => {
          this.mailChecking = null;
          return (this.mail = { ...r, at: performance.now() });
        });
      result = await this.mailChecking;
    }
    if (result.ok) return 'ok';
    reasons.mail = result.reason;
    return 'failed';
  }

  private report(reasons: Record<string, string>): void {
    const key = JSON.stringify(reasons);
    if (key === this.lastReported) return;
    const before = this.lastReported;
    this.lastReported = key;
    if (key === '{}') {
      if (before !== '') this.source.logger.info({ event: 'readiness' }, 'ready again');
      return;
    }
    this.source.logger.warn({ event: 'readiness', failed: Object.keys(reasons), reasons }, `not ready: ${Object.keys(reasons).join(', ')}`);
  }
}
