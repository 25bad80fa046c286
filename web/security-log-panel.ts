/**
 * The security log: the user's own audit entries, newest first, a page at a time, each as a
 * sentence with when and where from. Reading asks for the second factor unless this browser
 * was verified in the last few minutes. The server sends no code or token; this only words
 * what it sends.
 */
import type { DdpClient, SecurityLogEntry } from '../client/index.js';
import { byId, el, formatDate, show } from './dom.js';
import { reportError, type Guarded } from './guarded.js';
import { deviceText } from './sessions-panel.js';

/** Entries per page. */
const PAGE = 20;

const FACTORS: Readonly<Record<string, string>> = Object.freeze({
  totp: 'authenticator app code',
  backup: 'backup code',
  email: 'email code',
  password: 'password (asked as the second check)',
});

function factorName(value: unknown): string {
  return typeof value === 'string' ? (FACTORS[value] ?? value) : 'code';
}

function quoted(value: unknown): string {
  return typeof value === 'string' ? ` “${value}”` : '';
}

/** One entry as a sentence. */
export function describeEntry(entry: SecurityLogEntry): string {
  const d = entry.details;
  switch (entry.action) {
    case 'user.login':
      if (d.via === 'email-link') return 'Signed in from an email link';
      if (d.via === 'passkey') return 'Signed in with a passkey';
      return d.twoFactor === true ? 'Signed in with the password and a second factor' : 'Signed in with the password';
    case '2fa.failed': return `Wrong ${factorName(d.factor)}`;
    case '2fa.replay-rejected': return 'An authenticator app code was used a second time (refused)';
    case '2fa.locked-out': return `Too many wrong codes: ${factorName(d.factor)}s locked${typeof d.lockedUntil === 'string' ? ` until ${formatDate(d.lockedUntil)}` : ''}`;
    case 'password.locked-out': return 'Too many wrong passwords: signing in with the password locked for a while';
    case 'account.lock-notified': return 'A mail told you about a lock-out';
    case 'account.unlocked': return 'Unlocked by an administrator';
    case 'totp.enrolment-started': return 'Authenticator app set-up started';
    case 'totp.enabled': return 'Authenticator app turned on';
    case 'totp.disabled': return 'Authenticator app turned off';
    case 'totp.backup-codes-regenerated': return 'New backup codes made (the old ones stopped working)';
    case 'email-2fa.enabled': return 'Email codes turned on';
    case 'email-2fa.disabled': return 'Email codes turned off';
    case 'token.created': return `Personal access token${quoted(d.name)} created${d.bypassTwoFactor === true ? ' (skips two-factor checks)' : ''}`;
    case 'token.regenerated': return `Personal access token${quoted(d.name)} replaced`;
    case 'token.removed': return `Personal access token${quoted(d.name)} revoked`;
    case 'session.revoked': return 'A session was signed out';
    case 'sessions.revoked-others': return typeof d.count === 'number' ? `${d.count} other session${d.count === 1 ? '' : 's'} signed out` : 'Other sessions signed out';
    case 'password.changed': return 'Password changed (other sessions signed out)';
    case 'password.reset': return 'Password reset from an email link (other sessions signed out)';
    case 'email.verified': return 'Email address verified';
    case 'user.created': return 'Account created';
    default: return entry.action;
  }
}

export class SecurityLogPanel {
  readonly #show = byId('log-show', HTMLButtonElement);
  readonly #more = byId('log-more', HTMLButtonElement);
  readonly #table = byId('log-table', HTMLTableElement);
  readonly #body = byId('log-body', HTMLTableSectionElement);
  readonly #empty = byId('log-empty');
  #loaded = 0;

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    this.#show.addEventListener('click', () => void this.#load(true));
    this.#more.addEventListener('click', () => void this.#load(false));
  }

  reset(): void {
    this.#body.replaceChildren();
    this.#loaded = 0;
    show(this.#table, false);
    show(this.#empty, false);
    show(this.#more, false);
    this.#show.textContent = 'Show the security log';
  }

  /** The newest page (`fresh`), or the next older one. */
  async #load(fresh: boolean): Promise<void> {
    const button = fresh ? this.#show : this.#more;
    button.disabled = true;
    let page;
    try {
      page = await this.guarded.run(() => this.client.account.securityLog({ offset: fresh ? 0 : this.#loaded, count: PAGE }));
    } catch (error) {
      reportError(error, 'Could not read the security log: ');
      return;
    } finally {
      button.disabled = false;
    }
    const rows = page.entries.map((entry) => this.#row(entry));
    if (fresh) this.#body.replaceChildren(...rows);
    else this.#body.append(...rows);
    this.#loaded = (fresh ? 0 : this.#loaded) + page.entries.length;
    show(this.#table, this.#loaded > 0);
    show(this.#empty, this.#loaded === 0);
    show(this.#more, page.hasMore);
    this.#show.textContent = 'Refresh';
  }

  #row(entry: SecurityLogEntry): HTMLTableRowElement {
    return el('tr', { attrs: { 'data-action': entry.action } }, [
      el('td', { text: formatDate(entry.at) }),
      el('td', { text: describeEntry(entry) }),
      el('td', {}, [
        document.createTextNode(entry.ip ?? '—'),
        el('span', { text: entry.userAgent === null ? '' : deviceText(entry.device), className: 'sub' }),
      ]),
    ]);
  }
}
