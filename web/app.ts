/**
 * The account-security page: connects back to the server that served it, signs in (with the
 * code dialog when the server asks), and drives the sections of the page. Built by
 * `scripts/build-web.mjs` into `dist/web/app.js`; served at `/account/` by `server/web/`.
 */
import { DdpClient, signInWithPasskey, type LoginResult } from '../client/index.js';
import type { Fields } from '../protocol/index.js';
import { CodeDialog } from './code-dialog.js';
import { busy, byId, setStatus, show } from './dom.js';
import { EmailPanel, type EmailAddress } from './email-panel.js';
import { Guarded, reportError } from './guarded.js';
import { TokensPanel } from './tokens-panel.js';
import { PasskeysPanel } from './passkeys-panel.js';
import { PasswordPanel, PasswordReset } from './password-panel.js';
import { SecurityLogPanel } from './security-log-panel.js';
import { SessionsPanel } from './sessions-panel.js';
import { TotpPanel } from './totp-panel.js';

/**
 * The resume token lives in sessionStorage: a reload keeps the sign-in, closing the tab ends
 * it, and other sites never see it.
 */
const TOKEN_KEY = 'ddp-guard.resumeToken';

/** The server's own WebSocket endpoint, on the host the page came from. */
function webSocketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/websocket`;
}

function readToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function writeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage may be off (private mode): the sign-in then lasts as long as the page.
  }
}

/** The fields of the user's own document (server/built-ins/user-publication.ts). */
interface UserFields extends Fields {
  username?: string;
  emails?: EmailAddress[];
  twoFactor?: { totp?: boolean; email?: boolean };
}

class AccountPage {
  readonly #dialog = new CodeDialog();
  readonly #guarded = new Guarded(this.#dialog);
  readonly #client = new DdpClient(webSocketUrl(), {
    onTwoFactorRequired: this.#guarded.onTwoFactorRequired,
    // The server's lock-out (5 wrong codes by default) ends a run of wrong codes, not the client.
    maxTwoFactorAttempts: 20,
    retryFirstConnect: true,
  });
  readonly #passkeys = new PasskeysPanel(this.#client, this.#guarded);
  readonly #totp = new TotpPanel(this.#client, this.#guarded);
  readonly #email = new EmailPanel(this.#client, this.#guarded);
  readonly #tokens = new TokensPanel(this.#client, this.#guarded);
  readonly #sessions = new SessionsPanel(this.#client, this.#guarded);
  readonly #password = new PasswordPanel(this.#client, this.#guarded);
  readonly #securityLog = new SecurityLogPanel(this.#client, this.#guarded);
  readonly #reset = new PasswordReset(this.#client, this.#guarded, () => this.#showSignedOut());
  /** The user pressed "Sign out" (any other logout is the server's doing, and said so). */
  #signingOut = false;
  readonly #signInForm = byId('sign-in-form', HTMLFormElement);
  readonly #user = byId('sign-in-user', HTMLInputElement);
  readonly #signInPassword = byId('sign-in-password', HTMLInputElement);
  readonly #connection = byId('connection');

  async start(): Promise<void> {
    this.#wire();
    this.#connection.textContent = 'Connecting…';
    await this.#client.connect();
    // A reset link wins over a stored sign-in: the mail's owner is finishing a reset.
    if (this.#reset.takeTokenFromUrl()) {
      writeToken(null);
      this.#openReset();
      return;
    }
    const token = readToken();
    if (token !== null) {
      try {
        await this.#client.loginWithToken(token);
        return;
      } catch {
        writeToken(null);
        setStatus('Your session has ended: sign in again.');
      }
    }
    this.#showSignedOut();
  }

  /** The reset form, alone on the page. */
  #openReset(): void {
    this.#showSignedOut();
    show(byId('sign-in-section'), false);
    this.#reset.showResetForm();
  }

  /** A reset link opened in a tab already on the page (only the fragment changes). */
  async #onHashChange(): Promise<void> {
    if (!this.#reset.takeTokenFromUrl()) return;
    if (this.#client.userId !== undefined) await this.#signOut();
    this.#openReset();
  }

  #wire(): void {
    const c = this.#client;
    window.addEventListener('hashchange', () => void this.#onHashChange());
    c.on('connected', () => {
      this.#connection.textContent = 'Connected';
      this.#connection.dataset.state = 'connected';
    });
    c.on('disconnected', () => {
      this.#connection.textContent = 'Connection lost: reconnecting…';
      this.#connection.dataset.state = 'disconnected';
    });
    c.on('login', (result) => this.#signedIn(result));
    c.on('logout', () => this.#signedOut());
    for (const event of ['added', 'changed', 'removed'] as const) {
      c.on(event, ({ collection, id }) => {
        if (collection === 'users' && id === c.userId) this.#renderUser();
      });
    }
    this.#signInForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#signIn();
    });
    byId('passkey-sign-in').addEventListener('click', () => void this.#signInWithPasskey());
    byId('sign-out').addEventListener('click', () => void this.#signOut());
    byId('demo-call').addEventListener('click', () => void this.#callDemo());
  }

  async #signIn(): Promise<void> {
    const user = this.#user.value.trim();
    const password = this.#signInPassword.value;
    if (user === '' || password === '') {
      setStatus('Enter your username (or email) and your password.', 'error');
      (user === '' ? this.#user : this.#signInPassword).focus();
      return;
    }
    const done = busy(this.#signInForm);
    try {
      await this.#guarded.run(() => this.#client.loginWithPassword(user, password));
      setStatus('Signed in.', 'success');
    } catch (error) {
      reportError(error, 'Could not sign in: ');
      done();
      this.#signInPassword.select();
      this.#signInPassword.focus();
      return;
    }
    done();
    this.#signInPassword.value = '';
    if (!this.#dialog.isOpen) byId('main').focus();
  }

  /** Passwordless: the browser offers the passkeys it holds for this site (discoverable credentials). */
  async #signInWithPasskey(): Promise<void> {
    const button = byId('passkey-sign-in', HTMLButtonElement);
    button.disabled = true;
    try {
      await this.#guarded.run(() => signInWithPasskey(this.#client));
      setStatus('Signed in with your passkey.', 'success');
      byId('main').focus();
    } catch (error) {
      reportError(error, 'Could not sign in with a passkey: ');
    } finally {
      button.disabled = false;
    }
  }

  async #signOut(): Promise<void> {
    this.#signingOut = true;
    try {
      await this.#client.logout();
    } catch {
      // Signed out locally whatever the server says; the token is forgotten below.
    } finally {
      this.#signingOut = false;
    }
    setStatus('Signed out.');
  }

  #signedIn(result: LoginResult): void {
    writeToken(result.token);
    show(byId('sign-in-section'), false);
    show(byId('account'), true);
    show(byId('who'), true);
    this.#renderUser();
    void this.#tokens.refresh();
  }

  #signedOut(): void {
    writeToken(null);
    this.#showSignedOut();
    // Signed out from elsewhere (another session, a password change or reset): say so.
    if (!this.#signingOut) setStatus('This session was signed out (from another session, or by a password change). Sign in again.', 'error');
  }

  #showSignedOut(): void {
    this.#dialog.close();
    this.#passkeys.reset();
    this.#totp.reset();
    this.#tokens.reset();
    this.#sessions.reset();
    this.#password.reset();
    this.#securityLog.reset();
    byId('demo-result').textContent = '';
    show(byId('account'), false);
    show(byId('who'), false);
    show(byId('sign-in-section'), true);
    this.#user.focus();
  }

  #renderUser(): void {
    const id = this.#client.userId;
    const doc = id === undefined ? undefined : this.#client.collection<UserFields>('users').get(id);
    byId('who-name').textContent = doc?.username ?? '…';
    this.#password.setUsername(doc?.username ?? '');
    this.#totp.render(doc?.twoFactor?.totp === true);
    this.#email.render(doc?.twoFactor?.email === true, doc?.emails ?? []);
  }

  async #callDemo(): Promise<void> {
    const result = byId('demo-result');
    result.textContent = '';
    try {
      const answer = await this.#guarded.run(() => this.#client.call('demo.guarded'));
      const at = typeof answer === 'object' && answer !== null && (answer as { at?: unknown }).at instanceof Date ? (answer as { at: Date }).at : null;
      result.textContent = `Passed: the server answered ok${at ? ` at ${at.toLocaleTimeString()}` : ''}.`;
      setStatus('The protected method passed.', 'success');
    } catch (error) {
      reportError(error, 'The protected method failed: ');
    }
  }
}

void new AccountPage().start().catch((error: unknown) => reportError(error, 'Could not connect: '));
