/**
 * "Where you are signed in": the user's sessions (device, address, when signed in and last
 * used), this one marked; sign one out, or all the others. Listing asks for the second factor
 * unless this browser was verified in the last few minutes; signing out asks every time. A
 * session signed out here is cut off at once (its connections close).
 */
import type { DdpClient, SessionInfo } from '../client/index.js';
import { byId, el, formatDate, setStatus, show } from './dom.js';
import { reportError, type Guarded } from './guarded.js';

/** "Firefox on Windows". */
export function deviceText(device: { browser: string; os: string }): string {
  return `${device.browser} on ${device.os}`;
}

export class SessionsPanel {
  readonly #show = byId('sessions-show', HTMLButtonElement);
  readonly #others = byId('sessions-others', HTMLButtonElement);
  readonly #table = byId('sessions-table', HTMLTableElement);
  readonly #body = byId('sessions-body', HTMLTableSectionElement);

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    this.#show.addEventListener('click', () => void this.refresh());
    this.#others.addEventListener('click', () => void this.#signOutOthers());
  }

  /** Forget everything shown (sign-out). */
  reset(): void {
    this.#body.replaceChildren();
    show(this.#table, false);
    show(this.#others, false);
    this.#show.textContent = 'Show my sessions';
  }

  /** Load the list from the server (through the code dialog when it asks). */
  async refresh(): Promise<void> {
    let sessions: SessionInfo[];
    this.#show.disabled = true;
    try {
      sessions = await this.guarded.run(() => this.client.account.listSessions());
    } catch (error) {
      reportError(error, 'Could not list your sessions: ');
      return;
    } finally {
      this.#show.disabled = false;
    }
    this.#body.replaceChildren(...sessions.map((session) => this.#row(session)));
    show(this.#table, true);
    show(this.#others, sessions.some((s) => !s.current));
    this.#show.textContent = 'Refresh';
  }

  #row(session: SessionInfo): HTMLTableRowElement {
    const device = deviceText(session.device);
    const action = session.current
      ? el('span', { text: 'This session', className: 'badge' })
      : this.#signOutButton(session, device);
    return el('tr', { attrs: { 'data-session': session.sessionId, ...(session.current ? { 'data-current': 'true' } : {}) } }, [
      el('th', { attrs: { scope: 'row' } }, [document.createTextNode(device), el('span', { text: session.userAgent ?? 'No user agent sent', className: 'sub' })]),
      el('td', { text: session.ip ?? '—' }),
      el('td', { text: formatDate(session.loginAt) }),
      el('td', { text: session.lastUsedAt ? formatDate(session.lastUsedAt) : '—' }),
      el('td', {}, [action]),
    ]);
  }

  #signOutButton(session: SessionInfo, device: string): HTMLButtonElement {
    const button = el('button', { text: 'Sign out', className: 'danger', attrs: { type: 'button', 'aria-label': `Sign out the session on ${device} from ${session.ip ?? 'an unknown address'}` } });
    button.addEventListener('click', () => void this.#signOut(session.sessionId, device, button));
    return button;
  }

  async #signOut(sessionId: string, device: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await this.guarded.run(() => this.client.account.logoutSession(sessionId));
      setStatus(`The session on ${device} is signed out.`, 'success');
    } catch (error) {
      button.disabled = false;
      reportError(error, 'Could not sign the session out: ');
      return;
    }
    // Taken off the list here: reading the list again would ask for another code.
    button.closest('tr')?.remove();
    this.#afterRemoval();
  }

  async #signOutOthers(): Promise<void> {
    this.#others.disabled = true;
    try {
      await this.guarded.run(() => this.client.account.logoutOtherSessions());
      setStatus('All your other sessions are signed out.', 'success');
    } catch (error) {
      reportError(error, 'Could not sign the other sessions out: ');
      return;
    } finally {
      this.#others.disabled = false;
    }
    for (const row of [...this.#body.rows]) if (row.dataset.current !== 'true') row.remove();
    this.#afterRemoval();
  }

  #afterRemoval(): void {
    show(this.#others, [...this.#body.rows].some((row) => row.dataset.current !== 'true'));
    byId('sessions-title').focus();
  }
}
