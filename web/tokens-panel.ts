/** The personal-access-tokens section: create (shown once), list, revoke. */
import type { AccessTokenInfo, DdpClient } from '../client/index.js';
import { busy, byId, copyText, el, formatDate, selectText, setStatus, show } from './dom.js';
import { reportError, Shown, type Guarded } from './guarded.js';
import { errorCode, errorText } from './messages.js';

export class TokensPanel {
  readonly #form = byId('token-form', HTMLFormElement);
  readonly #name = byId('token-name', HTMLInputElement);
  readonly #bypass = byId('token-bypass', HTMLInputElement);
  readonly #error = byId('token-error');
  readonly #newToken = byId('new-token');
  readonly #newTokenName = byId('new-token-name');
  readonly #newTokenValue = byId('new-token-value');
  readonly #table = byId('tokens-table', HTMLTableElement);
  readonly #body = byId('tokens-body', HTMLTableSectionElement);
  readonly #empty = byId('tokens-empty');

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#create();
    });
    byId('new-token-copy').addEventListener('click', () => void this.#copy());
    byId('new-token-done').addEventListener('click', () => this.#hideNewToken(true));
  }

  /** Forget everything shown (sign-out). */
  reset(): void {
    this.#hideNewToken(false);
    this.#form.reset();
    this.#showError('');
    this.#body.replaceChildren();
  }

  /** Load the list from the server. */
  async refresh(): Promise<void> {
    let tokens: AccessTokenInfo[];
    try {
      tokens = await this.client.account.listAccessTokens();
    } catch (error) {
      reportError(error, 'Could not list your tokens: ');
      return;
    }
    this.#body.replaceChildren(...tokens.map((token) => this.#row(token)));
    show(this.#table, tokens.length > 0);
    show(this.#empty, tokens.length === 0);
  }

  #row(token: AccessTokenInfo): HTMLTableRowElement {
    const revoke = el('button', { text: 'Revoke', className: 'danger', attrs: { type: 'button', 'aria-label': `Revoke token ${token.name}` } });
    revoke.addEventListener('click', () => void this.#revoke(token.name, revoke));
    return el('tr', { attrs: { 'data-token': token.name } }, [
      el('th', { text: token.name, attrs: { scope: 'row' } }),
      el('td', { text: formatDate(token.createdAt) }),
      el('td', { text: token.lastUsedAt ? formatDate(token.lastUsedAt) : 'Never' }),
      el('td', { text: token.bypassTwoFactor === true ? 'Yes' : 'No' }),
      el('td', {}, [revoke]),
    ]);
  }

  async #create(): Promise<void> {
    const name = this.#name.value.trim();
    if (name === '') {
      this.#showError('Give the token a name.');
      this.#name.focus();
      return;
    }
    this.#showError('');
    const bypassTwoFactor = this.#bypass.checked;
    const done = busy(this.#form);
    try {
      const token = await this.guarded.run(() => this.client.account.createAccessToken(name, { bypassTwoFactor }));
      done();
      this.#form.reset();
      this.#newTokenName.textContent = name;
      this.#newTokenValue.textContent = token;
      show(this.#newToken, true);
      byId('new-token-title').focus();
      setStatus(`Token “${name}” created. Copy it now: it is not shown again.`, 'success');
      await this.refresh();
    } catch (error) {
      done();
      if (!(error instanceof Shown) && errorCode(error) !== 'two-factor-cancelled') this.#showError(errorText(error));
      reportError(error, 'Could not create the token: ');
    }
  }

  async #revoke(name: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await this.guarded.run(() => this.client.account.removeAccessToken(name));
      setStatus(`Token “${name}” revoked.`, 'success');
      await this.refresh();
      byId('tokens-title').focus();
    } catch (error) {
      button.disabled = false;
      reportError(error, `Could not revoke “${name}”: `);
    }
  }

  async #copy(): Promise<void> {
    if (await copyText(this.#newTokenValue.textContent ?? '')) {
      setStatus('Token copied.', 'success');
    } else {
      selectText(this.#newTokenValue);
      setStatus('This browser does not allow copying here: the token is selected, copy it with Ctrl+C.');
    }
  }

  #hideNewToken(focus: boolean): void {
    this.#newTokenValue.textContent = '';
    this.#newTokenName.textContent = '';
    show(this.#newToken, false);
    if (focus) this.#name.focus();
  }

  #showError(text: string): void {
    this.#error.textContent = text;
    if (text === '') this.#name.removeAttribute('aria-invalid');
    else this.#name.setAttribute('aria-invalid', 'true');
  }
}
