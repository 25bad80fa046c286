/**
 * The authenticator-app section: enrol (QR code and key, confirm with a first code), the backup
 * codes shown once (copy, download), how many remain, new ones, and turning the app off.
 */
import QRCode from 'qrcode';
import type { DdpClient } from '../client/index.js';
import { busy, byId, copyText, downloadText, el, selectText, setStatus, show } from './dom.js';
import { reportError, type Guarded } from './guarded.js';
import { errorCode, errorText } from './messages.js';

/** The key in groups of four, as authenticator apps show it. */
function groupKey(secret: string): string {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

export class TotpPanel {
  readonly #state = byId('totp-state');
  readonly #off = byId('totp-off');
  readonly #on = byId('totp-on');
  readonly #enrol = byId('totp-enrol');
  readonly #qr = byId('totp-qr', HTMLImageElement);
  readonly #secret = byId('totp-secret');
  readonly #confirmForm = byId('totp-confirm-form', HTMLFormElement);
  readonly #confirmCode = byId('totp-confirm-code', HTMLInputElement);
  readonly #confirmError = byId('totp-confirm-error');
  readonly #codesPanel = byId('backup-codes');
  readonly #codesList = byId('backup-codes-list', HTMLOListElement);
  readonly #remaining = byId('backup-remaining');
  #enabled = false;
  #codes: string[] = [];

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    byId('totp-start').addEventListener('click', () => void this.#start());
    byId('totp-enrol-cancel').addEventListener('click', () => this.#cancelEnrolment());
    this.#confirmForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#confirm();
    });
    byId('backup-copy').addEventListener('click', () => void this.#copyCodes());
    byId('backup-download').addEventListener('click', () => this.#downloadCodes());
    byId('backup-done').addEventListener('click', () => this.#codesSaved());
    byId('backup-regenerate').addEventListener('click', () => void this.#regenerate());
    byId('totp-disable').addEventListener('click', () => void this.#disable());
  }

  /** Show the state the server publishes (`twoFactor.totp` of the user's document). */
  render(enabled: boolean): void {
    const changed = enabled !== this.#enabled;
    this.#enabled = enabled;
    this.#state.textContent = enabled ? 'On' : 'Off';
    const showingCodes = this.#codes.length > 0;
    const enrolling = !this.#enrol.hidden;
    show(this.#off, !enabled && !enrolling);
    show(this.#on, enabled && !showingCodes);
    if (enabled && changed) void this.refreshRemaining();
  }

  /** Forget everything shown (sign-out). */
  reset(): void {
    this.#enabled = false;
    this.#codes = [];
    this.#codesList.replaceChildren();
    this.#secret.textContent = '';
    this.#qr.removeAttribute('src');
    show(this.#enrol, false);
    show(this.#codesPanel, false);
    this.#confirmForm.reset();
  }

  /** Ask the server how many backup codes are left. */
  async refreshRemaining(): Promise<void> {
    try {
      this.#remaining.textContent = String(await this.client.account.backupCodesRemaining());
    } catch {
      this.#remaining.textContent = '?';
    }
  }

  async #start(): Promise<void> {
    const done = busy(this.#off);
    try {
      // Adding a factor asks for the user's current one (or their password) in the code dialog.
      const { secret, url } = await this.guarded.run(() => this.client.account.enableTotp());
      this.#qr.src = await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 2, width: 220 });
      this.#secret.textContent = groupKey(secret);
      this.#showError('');
      this.#confirmForm.reset();
      show(this.#off, false);
      show(this.#enrol, true);
      byId('totp-enrol-title').focus();
      setStatus('Scan the QR code with your authenticator app, then enter the code it shows.');
    } catch (error) {
      reportError(error, 'Could not start the set-up: ');
    } finally {
      done();
    }
  }

  #cancelEnrolment(): void {
    show(this.#enrol, false);
    this.#secret.textContent = '';
    this.#qr.removeAttribute('src');
    this.render(this.#enabled);
    byId('totp-start').focus();
    setStatus('Set-up cancelled.');
  }

  async #confirm(): Promise<void> {
    const code = this.#confirmCode.value.replace(/\s+/g, '');
    if (code === '') {
      this.#showError('Enter the code from your app.');
      this.#confirmCode.focus();
      return;
    }
    const done = busy(this.#confirmForm);
    try {
      const codes = await this.client.account.confirmTotp(code);
      done();
      show(this.#enrol, false);
      this.#secret.textContent = '';
      this.#qr.removeAttribute('src');
      this.#showCodes(codes);
      setStatus('The authenticator app is on. Save your backup codes.', 'success');
    } catch (error) {
      done();
      const text = errorCode(error) === 'totp-max-attempts' ? 'Too many wrong codes: wait a few minutes, then try again.' : errorText(error);
      this.#showError(text);
      this.#confirmCode.select();
      this.#confirmCode.focus();
    }
  }

  #showError(text: string): void {
    this.#confirmError.textContent = text;
    if (text === '') this.#confirmCode.removeAttribute('aria-invalid');
    else this.#confirmCode.setAttribute('aria-invalid', 'true');
  }

  #showCodes(codes: string[]): void {
    this.#codes = codes;
    this.#codesList.replaceChildren(...codes.map((code) => el('li', {}, [el('code', { text: code })])));
    show(this.#codesPanel, true);
    show(this.#on, false);
    show(this.#off, false);
    byId('backup-codes-title').focus();
  }

  async #copyCodes(): Promise<void> {
    if (await copyText(this.#codes.join('\n'))) {
      setStatus('Backup codes copied.', 'success');
    } else {
      selectText(this.#codesList);
      setStatus('This browser does not allow copying here: the codes are selected, copy them with Ctrl+C.');
    }
  }

  #downloadCodes(): void {
    const text = [`Backup codes for ${location.host} (each works once):`, '', ...this.#codes, ''].join('\n');
    downloadText(`backup-codes-${location.hostname}.txt`, text);
    setStatus('Backup codes downloaded.', 'success');
  }

  #codesSaved(): void {
    this.#codes = [];
    this.#codesList.replaceChildren();
    show(this.#codesPanel, false);
    this.render(this.#enabled);
    void this.refreshRemaining();
    byId('totp-title').focus();
  }

  async #regenerate(): Promise<void> {
    try {
      const codes = await this.guarded.runWithCode('2fa:regenerateCodes', (code) => this.client.account.regenerateBackupCodes(code));
      if (codes === null) return setStatus('Cancelled.');
      this.#showCodes(codes);
      setStatus('New backup codes: the old ones no longer work.', 'success');
    } catch (error) {
      reportError(error, 'Could not replace the backup codes: ');
    }
  }

  async #disable(): Promise<void> {
    try {
      const result = await this.guarded.runWithCode('2fa:disable', (code) => this.client.account.disableTotp(code));
      if (result === null) return setStatus('Cancelled.');
      setStatus('The authenticator app is off.', 'success');
    } catch (error) {
      reportError(error, 'Could not turn the authenticator app off: ');
    }
  }
}
