/**
 * Security events at `info` (lock-outs at `warn`), summarised: the first event of a kind is
 * written at once with who and from where; further events of that kind within the window are
 * only counted, and one line at the end of the window says how many there were and from how
 * many users and addresses. A flood of replayed codes or wrong passwords therefore costs two
 * lines a minute, not one per frame, while a single event is still seen as it happens.
 *
 * The events are read from the method observer's outcomes, so nothing in the guard or the
 * accounts methods writes log lines itself.
 */
import { catalogueError, isClientSafeError } from '../../protocol/errors.js';
import type { MethodObserver, ObservedCall } from '../calls/dispatcher.js';
import type { Logger } from '../runtime/logger.js';
import { callerFields } from './logs.js';

/** What happened, as the `kind` field of a `security` line names it. */
export type SecurityEventKind = 'login-failed' | 'token-refused' | '2fa-invalid' | '2fa-replay' | '2fa-locked' | 'rate-limited';

/** How long the events of one kind after the first are only counted. @default 60 s */
export const SECURITY_LOG_WINDOW_MS = 60_000;

/** Distinct users and addresses remembered per window for the summary; past it they are not counted. */
const MAX_DISTINCT = 1000;

const LOGIN_FAILED = catalogueError('loginFailed').reason;
const TOKEN_REFUSED = catalogueError('tokenExpired').reason;

/** The security event a call's error stands for, or null for anything else. */
export function securityEventOf(error: unknown): SecurityEventKind | null {
  if (!isClientSafeError(error)) return null;
  switch (error.error) {
    case 'totp-invalid': {
      const details = error.details as { reason?: unknown } | undefined;
      return details?.reason === 'used' ? '2fa-replay' : '2fa-invalid';
    }
    case 'totp-max-attempts':
      return '2fa-locked';
    case 'too-many-requests':
      return 'rate-limited';
    case 403:
      if (error.reason === LOGIN_FAILED) return 'login-failed';
      if (error.reason === TOKEN_REFUSED) return 'token-refused';
      return null;
    default:
      return null;
  }
}

const MESSAGES: Readonly<Record<SecurityEventKind, string>> = Object.freeze({
  'login-failed': 'login failed: wrong password or unknown user',
  'token-refused': 'login token refused: unknown or expired',
  '2fa-invalid': 'wrong two-factor code',
  '2fa-replay': 'two-factor code refused: already used',
  '2fa-locked': 'two-factor check locked out after too many wrong codes',
  'rate-limited': 'call refused by a rate limit',
});

interface Window {
  count: number;
  users: Set<string>;
  addresses: Set<string>;
  timer: NodeJS.Timeout;
}

/** Options of {@link SecurityLog}; tests shorten the window. */
export interface SecurityLogOptions {
  /** @default {@link SECURITY_LOG_WINDOW_MS} */
  windowMs?: number;
}

/** Writes and summarises security events; {@link close} writes what is still counted. */
export class SecurityLog {
  private readonly windows = new Map<SecurityEventKind, Window>();
  private readonly windowMs: number;

  constructor(private readonly logger: Logger, options: SecurityLogOptions = {}) {
    this.windowMs = options.windowMs ?? SECURITY_LOG_WINDOW_MS;
  }

  /** A method observer that records the security events among calls' outcomes. */
  observer(): MethodObserver {
    return {
      started(): void {
        // An outcome is needed first.
      },
      finished: (call: ObservedCall, failed: boolean, error: unknown): void => {
        if (!failed || call.nested) return;
        const kind = securityEventOf(error);
        if (kind !== null) this.record(kind, call);
      },
    };
  }

  /** One event of `kind` made by `call`. */
  record(kind: SecurityEventKind, call: ObservedCall): void {
    const fields = callerFields(call.caller, call.userIdAtEnd ?? call.userIdAtStart);
    const open = this.windows.get(kind);
    if (open) {
      open.count++;
      if (typeof fields.userId === 'string' && open.users.size < MAX_DISTINCT) open.users.add(fields.userId);
      if (typeof fields.clientAddress === 'string' && open.addresses.size < MAX_DISTINCT) open.addresses.add(fields.clientAddress);
      return;
    }
    this.write(kind, { event: 'security', kind, method: call.name, ...fields }, MESSAGES[kind]);
    const timer = setTimeout(() => this.flush(kind), this.windowMs);
    timer.unref();
    this.windows.set(kind, { count: 0, users: new Set(), addresses: new Set(), timer });
  }

  /** Writes the summary of every open window and forgets them (the server is closing). */
  close(): void {
    for (const kind of [...this.windows.keys()]) this.flush(kind);
  }

  private flush(kind: SecurityEventKind): void {
    const window = this.windows.get(kind);
    if (!window) return;
    clearTimeout(window.timer);
    this.windows.delete(kind);
    if (window.count === 0) return;
    const seconds = Math.round(this.windowMs / 1000);
    this.write(kind, {
      event: 'security',
      kind,
      count: window.count,
      users: window.users.size,
      addresses: window.addresses.size,
      windowMs: this.windowMs,
    }, `${MESSAGES[kind]}: ${window.count} more in ${seconds} s (${window.users.size} users, ${window.addresses.size} addresses)`);
  }

  private write(kind: SecurityEventKind, fields: Record<string, unknown>, message: string): void {
    if (kind === '2fa-locked') this.logger.warn(fields, message);
    else this.logger.info(fields, message);
  }
}
