/**
 * The passkeys section: add a passkey with a name (the browser's WebAuthn ceremony, then the
 * server asks for the user's current factor, or the password when they have none), list them
 * (name, added, last used), rename one in place, and remove one (which asks for a factor every
 * time). Listing and renaming ask for the second factor unless this browser was verified in the
 * last few minutes, like the sessions list; so the page changes its rows itself after an add,
 * a rename or a removal instead of reading the list again.
 */
import { addPasskey, type DdpClient } from '../client/index.js';
import { busy, byId, el, formatDate, setStatus, show } from './dom.js';
import { reportError, Shown, type Guarded } from './guarded.js';
import { errorCode, errorText } from './messages.js';

/** One passkey, as `2fa:passkey:list` returns it. */
export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

function asPasskeys(value: unknown): PasskeyInfo[] {
  return Array.isArray(value) ? (value as PasskeyInfo[]) : [];
}

export class PasskeysPanel {
  readonly #form = byId('passkey-form', HTMLFormElement);
  readonly #name = byId('passkey-name', HTMLInputElement);
  readonly #error = byId('passkey-error');
  readonly #showButton = byId('passkeys-show', HTMLButtonElement);
  readonly #table = byId('passkeys-table', HTMLTableElement);
  readonly #body = byId('passkeys-body', HTMLTableSectionElement);
  readonly #empty = byId('passkeys-empty');

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#add();
    });
    this.#showButton.addEventListener('click', () => void this.refresh());
  }

  /** Forget everything shown (sign-out). */
  reset(): void {
    this.#body.replaceChildren();
    show(this.#table, false);
    show(this.#empty, false);
    this.#form.reset();
    this.#showError('');
    this.#showButton.textContent = 'Show my passkeys';
  }

  /** Load the list from the server (through the code dialog when it asks). */
  async refresh(): Promise<void> {
    let passkeys: PasskeyInfo[];
    this.#showButton.disabled = true;
    try {
      passkeys = asPasskeys(await this.guarded.run(() => this.client.call('2fa:passkey:list')));
    } catch (error) {
      reportError(error, 'Could not list your passkeys: ');
      return;
    } finally {
      this.#showButton.disabled = false;
    }
    this.#body.replaceChildren(...passkeys.map((passkey) => this.#row(passkey)));
    this.#showButton.textContent = 'Refresh';
    this.#shown();
  }

  async #add(): Promise<void> {
    const name = this.#name.value.trim();
    if (name === '') {
      this.#showError('Give the passkey a name, such as the device it is on.');
      this.#name.focus();
      return;
    }
    this.#showError('');
    const done = busy(this.#form);
    try {
      const added = await this.guarded.run(() => addPasskey(this.client, name));
      done();
      this.#form.reset();
      this.#body.append(this.#row({ id: added.id, name: added.name, createdAt: new Date(), lastUsedAt: null }));
      this.#shown();
      setStatus(`Passkey “${added.name}” added. It is asked for first from now on.`, 'success');
    } catch (error) {
      done();
      if (!(error instanceof Shown) && errorCode(error) !== 'two-factor-cancelled') this.#showError(errorText(error));
      reportError(error, 'Could not add the passkey: ');
    }
  }

  #row(passkey: PasskeyInfo): HTMLTableRowElement {
    const nameCell = el('th', { text: passkey.name, attrs: { scope: 'row' } });
    const rename = el('button', { text: 'Rename', attrs: { type: 'button', 'aria-label': `Rename the passkey “${passkey.name}”` } });
    const remove = el('button', { text: 'Remove', className: 'danger', attrs: { type: 'button', 'aria-label': `Remove the passkey “${passkey.name}”` } });
    const row = el('tr', { attrs: { 'data-passkey': passkey.id } }, [
      nameCell,
      el('td', { text: formatDate(passkey.createdAt) }),
      el('td', { text: passkey.lastUsedAt ? formatDate(passkey.lastUsedAt) : 'Never' }),
      el('td', { className: 'row-actions' }, [rename, remove]),
    ]);
    rename.addEventListener('click', () => this.#startRename(row, nameCell));
    remove.addEventListener('click', () => void this.#remove(row, remove));
    return row;
  }

  /** Swap the name for a small form: Save renames, Cancel (or Esc) puts the name back. */
  #startRename(row: HTMLTableRowElement, nameCell: HTMLElement): void {
    const id = row.dataset.passkey ?? '';
    const old = nameCell.textContent ?? '';
    const input = el('input', { attrs: { type: 'text', maxlength: '64', 'aria-label': `New name for the passkey “${old}”`, class: 'rename-input' } });
    input.value = old;
    const save = el('button', { text: 'Save', className: 'primary', attrs: { type: 'submit' } });
    const cancel = el('button', { text: 'Cancel', attrs: { type: 'button' } });
    const form = el('form', { className: 'rename', attrs: { novalidate: '' } }, [input, save, cancel]);
    const restore = (name: string): void => {
      nameCell.replaceChildren(document.createTextNode(name));
      for (const button of row.querySelectorAll<HTMLButtonElement>('.row-actions button')) button.disabled = false;
    };
    cancel.addEventListener('click', () => restore(old));
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') restore(old);
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#rename(id, input, form, restore);
    });
    for (const button of row.querySelectorAll<HTMLButtonElement>('.row-actions button')) button.disabled = true;
    nameCell.replaceChildren(form);
    input.select();
    input.focus();
  }

  async #rename(id: string, input: HTMLInputElement, form: HTMLFormElement, restore: (name: string) => void): Promise<void> {
    const name = input.value.trim();
    if (name === '') {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    const done = busy(form);
    try {
      await this.guarded.run(() => this.client.call('2fa:passkey:rename', { id, name }));
    } catch (error) {
      done();
      reportError(error, 'Could not rename the passkey: ');
      return;
    }
    restore(name);
    setStatus(`Passkey renamed to “${name}”.`, 'success');
  }

  async #remove(row: HTMLTableRowElement, button: HTMLButtonElement): Promise<void> {
    const id = row.dataset.passkey ?? '';
    const name = row.querySelector('th')?.textContent ?? 'passkey';
    button.disabled = true;
    try {
      await this.guarded.run(() => this.client.call('2fa:passkey:remove', { id }));
    } catch (error) {
      button.disabled = false;
      reportError(error, `Could not remove “${name}”: `);
      return;
    }
    row.remove();
    this.#shown();
    setStatus(`Passkey “${name}” removed.`, 'success');
    byId('passkeys-title').focus();
  }

  #shown(): void {
    const any = this.#body.rows.length > 0;
    show(this.#table, any);
    show(this.#empty, !any);
  }

  #showError(text: string): void {
    this.#error.textContent = text;
    if (text === '') this.#name.removeAttribute('aria-invalid');
    else this.#name.setAttribute('aria-invalid', 'true');
  }
}
