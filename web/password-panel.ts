/**
 * The password: change it (the current one, the new one twice, and the second factor the
 * server asks for), ask for a reset link from the sign-in form ("Forgot password?"), and
 * finish a reset from the mailed link (`#/reset-password/<token>`), then sign in with the new
 * password and the second factor. After a change or a reset the server signs out every other
 * session, and the page says so.
 */
import type { DdpClient } from '../client/index.js';
import { busy, byId, setStatus, show } from './dom.js';
import { reportError, Shown, type Guarded } from './guarded.js';
import { errorCode, errorText } from './messages.js';

/** The fragment of a reset link, as the server mails it. */
const RESET_ROUTE = /^#\/reset-password\/([A-Za-z0-9_-]{16,512})$/;

/** The reset token in a location fragment, or null. */
export function resetTokenOf(hash: string): string | null {
  return RESET_ROUTE.exec(hash)?.[1] ?? null;
}

/** A form's inline error line, tied to the field it is about. */
function showError(line: HTMLElement, field: HTMLInputElement, text: string): void {
  line.textContent = text;
  if (text === '') field.removeAttribute('aria-invalid');
  else field.setAttribute('aria-invalid', 'true');
}

/** Check the new password was typed the same twice; say so inline when not. */
function newPasswordOf(password: HTMLInputElement, confirm: HTMLInputElement, error: HTMLElement): string | null {
  if (password.value === '') {
    showError(error, password, 'Enter a new password.');
    password.focus();
    return null;
  }
  if (password.value !== confirm.value) {
    showError(error, password, 'The two new passwords differ.');
    confirm.select();
    confirm.focus();
    return null;
  }
  showError(error, password, '');
  return password.value;
}

export const OTHERS_SIGNED_OUT = 'Your other sessions were signed out.';

/** The "Password" card of a signed-in user. */
export class PasswordPanel {
  readonly #form = byId('password-form', HTMLFormElement);
  readonly #username = byId('password-username', HTMLInputElement);
  readonly #current = byId('password-current', HTMLInputElement);
  readonly #new = byId('password-new', HTMLInputElement);
  readonly #confirm = byId('password-confirm', HTMLInputElement);
  readonly #error = byId('password-error');

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#change();
    });
  }

  /** The signed-in user's name, for password managers. */
  setUsername(name: string): void {
    this.#username.value = name;
  }

  reset(): void {
    this.#form.reset();
    showError(this.#error, this.#new, '');
  }

  async #change(): Promise<void> {
    if (this.#current.value === '') {
      showError(this.#error, this.#current, 'Enter your current password.');
      this.#current.focus();
      return;
    }
    showError(this.#error, this.#current, '');
    const next = newPasswordOf(this.#new, this.#confirm, this.#error);
    if (next === null) return;
    const done = busy(this.#form);
    try {
      await this.guarded.run(() => this.client.account.changePassword(this.#current.value, next));
    } catch (error) {
      done();
      if (!(error instanceof Shown) && errorCode(error) !== 'two-factor-cancelled') showError(this.#error, this.#new, errorText(error));
      reportError(error, 'Could not change the password: ');
      return;
    }
    done();
    this.#form.reset();
    setStatus(`Password changed. ${OTHERS_SIGNED_OUT}`, 'success');
    byId('password-title').focus();
  }
}

/** "Forgot password?" on the sign-in form, and the page the mailed link opens. */
export class PasswordReset {
  readonly #open = byId('forgot-open', HTMLButtonElement);
  readonly #forgotForm = byId('forgot-form', HTMLFormElement);
  readonly #email = byId('forgot-email', HTMLInputElement);
  readonly #forgotError = byId('forgot-error');
  readonly #section = byId('reset-section');
  readonly #resetForm = byId('reset-form', HTMLFormElement);
  readonly #user = byId('reset-user', HTMLInputElement);
  readonly #password = byId('reset-password', HTMLInputElement);
  readonly #confirm = byId('reset-confirm', HTMLInputElement);
  readonly #resetError = byId('reset-error');
  #token: string | null = null;

  /**
   * @param onCancel the reset page was left without a reset: show the sign-in form
   */
  constructor(private readonly client: DdpClient, private readonly guarded: Guarded, private readonly onCancel: () => void) {
    this.#open.addEventListener('click', () => this.#toggleForgot(this.#forgotForm.hidden));
    byId('forgot-cancel').addEventListener('click', () => this.#toggleForgot(false));
    this.#forgotForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#requestLink();
    });
    this.#resetForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#finish();
    });
    byId('reset-cancel').addEventListener('click', () => {
      this.#leave();
      this.onCancel();
    });
  }

  /**
   * Take the token from the address bar (and out of it, so it is not left in the history or
   * shown over a shoulder). True when the page opened on a reset link.
   */
  takeTokenFromUrl(): boolean {
    const token = resetTokenOf(location.hash);
    if (token === null) return false;
    this.#token = token;
    history.replaceState(null, '', location.pathname + location.search);
    return true;
  }

  get pending(): boolean {
    return this.#token !== null;
  }

  /** Show the reset form (the page opened on a link). */
  showResetForm(): void {
    show(this.#section, true);
    this.#user.focus();
  }

  #toggleForgot(open: boolean): void {
    show(this.#forgotForm, open);
    this.#open.setAttribute('aria-expanded', String(open));
    showError(this.#forgotError, this.#email, '');
    if (open) byId('forgot-title').focus();
    else this.#open.focus();
  }

  async #requestLink(): Promise<void> {
    const email = this.#email.value.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
      showError(this.#forgotError, this.#email, 'Enter the email address of your account.');
      this.#email.focus();
      return;
    }
    showError(this.#forgotError, this.#email, '');
    const done = busy(this.#forgotForm);
    try {
      await this.client.account.forgotPassword(email);
    } catch (error) {
      done();
      reportError(error, 'Could not ask for a reset link: ');
      return;
    }
    done();
    this.#forgotForm.reset();
    show(this.#forgotForm, false);
    this.#open.setAttribute('aria-expanded', 'false');
    // The same words whether or not the address is known: the page must not tell who has an account.
    setStatus(`If ${email} belongs to an account, a reset link is on its way. Open it in this browser.`, 'success');
  }

  async #finish(): Promise<void> {
    const token = this.#token;
    if (token === null) return;
    const user = this.#user.value.trim();
    if (user === '') {
      showError(this.#resetError, this.#user, 'Enter your username or email: you sign in with them next.');
      this.#user.focus();
      return;
    }
    const password = newPasswordOf(this.#password, this.#confirm, this.#resetError);
    if (password === null) return;
    const done = busy(this.#resetForm);
    let login: { token: string } | undefined;
    try {
      login = await this.client.account.resetPassword(token, password);
    } catch (error) {
      done();
      showError(this.#resetError, this.#password, errorText(error));
      reportError(error, 'Could not reset the password: ');
      return;
    }
    // The link is used up: whatever happens next, it is not tried again.
    this.#token = null;
    try {
      // Without a second factor the server signed this connection in; with one, sign in with
      // the new password and the factor (the code dialog).
      await this.guarded.run(() => (login ? this.client.loginWithToken(login.token) : this.client.loginWithPassword(user, password)));
    } catch (error) {
      done();
      this.#leave();
      this.onCancel();
      reportError(error, `Password changed. ${OTHERS_SIGNED_OUT} Sign in with it: `);
      return;
    }
    done();
    this.#leave();
    setStatus(`Password changed and signed in. ${OTHERS_SIGNED_OUT}`, 'success');
  }

  #leave(): void {
    this.#token = null;
    this.#resetForm.reset();
    showError(this.#resetError, this.#password, '');
    show(this.#section, false);
  }
}
