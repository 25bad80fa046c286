/**
 * The code dialog: a modal `<dialog>` that asks for the second factor the server wants, says
 * which one and whether an email went out, offers the user's other factors, shows a wrong code
 * inline, shows a lock-out, and cancels with Esc or the Cancel button. Focus goes to the code
 * field when it opens and back to where it was when it closes. When the server asks for a
 * passkey there is no code field: the main button ("Use your passkey") answers, and the page
 * runs the browser's passkey prompt (see `guarded.ts`).
 */
import { byId, el, formatWait } from './dom.js';
import { purposeOf, SWITCH_LABELS } from './messages.js';

/** A factor, as on the wire. */
export type Factor = 'passkey' | 'totp' | 'email' | 'password';

/** What to ask for. */
export interface CodePrompt {
  /** The DDP method the code is for ("To … , confirm it is you"). */
  method: string;
  /** The factor asked for. */
  factor: Factor;
  /** Every factor the user has; the others are offered as "use … instead". */
  availableMethods: readonly Factor[];
  /** The previous code was wrong. */
  invalid: boolean;
  /** The server just emailed a code. */
  emailCodeSent: boolean;
  /** What went wrong with the passkey in this browser (the prompt was closed, timed out, …). */
  passkeyProblem?: string | undefined;
  /** When the emailed code expires. */
  codeExpires?: Date | undefined;
  /** The previous code was right but already used: ms until the app shows the next one. */
  usedWaitMs?: number | undefined;
}

/** The user's answer: a code for `method`, or (`switched`) a request to use `method` instead. */
export interface CodeAnswer {
  code: string;
  method: Factor;
  switched: boolean;
}

type State = 'closed' | 'entry' | 'busy' | 'locked';

const LABELS: Readonly<Record<Factor, string>> = Object.freeze({
  passkey: 'Use your passkey',
  totp: 'Code from your authenticator app, or a backup code',
  email: 'Code from the email',
  password: 'Your password',
});

const FACTOR_NAMES: Readonly<Record<Factor, string>> = Object.freeze({
  passkey: 'a passkey',
  totp: 'authenticator app codes',
  email: 'email codes',
  password: 'the password check',
});

export class CodeDialog {
  readonly #dialog = byId('code-dialog', HTMLDialogElement);
  readonly #form = byId('code-form', HTMLFormElement);
  readonly #title = byId('code-title');
  readonly #purpose = byId('code-purpose');
  readonly #message = byId('code-message');
  readonly #entry = byId('code-entry');
  readonly #label = byId('code-label', HTMLLabelElement);
  readonly #input = byId('code-input', HTMLInputElement);
  readonly #error = byId('code-error');
  readonly #switch = byId('code-switch');
  readonly #submit = byId('code-submit', HTMLButtonElement);
  readonly #cancel = byId('code-cancel', HTMLButtonElement);
  #state: State = 'closed';
  #prompt: CodePrompt | null = null;
  #pending: ((answer: CodeAnswer | null) => void) | null = null;
  #returnFocus: Element | null = null;

  constructor() {
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#answer();
    });
    this.#cancel.addEventListener('click', () => this.#dialog.close());
    this.#dialog.addEventListener('cancel', (event) => {
      // Esc while a code is being checked would hide the answer; it is short, so wait for it.
      if (this.#state === 'busy') event.preventDefault();
    });
    // Every way of closing (Esc, Cancel, Close, close()) ends here.
    this.#dialog.addEventListener('close', () => this.#closed());
  }

  /** Whether the dialog is showing. */
  get isOpen(): boolean {
    return this.#state !== 'closed';
  }

  /** Ask for a code; null when the user cancels. The dialog stays open ("Checking…") until {@link close} or the next ask. */
  ask(prompt: CodePrompt): Promise<CodeAnswer | null> {
    this.#settle(null);
    this.#prompt = prompt;
    this.#render(prompt);
    this.#open();
    this.#setState('entry');
    if (prompt.factor === 'passkey') {
      this.#submit.focus();
    } else {
      this.#input.focus();
      if (prompt.invalid) this.#input.select();
    }
    return new Promise((resolve) => {
      this.#pending = resolve;
    });
  }

  /** The call is over: close the dialog. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#dialog.close();
  }

  /** Show that `factor` is locked for `lockedForMs`, with a Close button only. */
  showLocked(factor: Factor, lockedForMs: number | undefined): void {
    this.#settle(null);
    this.#open();
    this.#title.textContent = 'Too many wrong codes';
    this.#purpose.textContent = '';
    const wait = lockedForMs === undefined ? 'a while' : formatWait(lockedForMs);
    this.#message.textContent = `For your security, ${FACTOR_NAMES[factor]} are locked for your account. Try again in ${wait}.`;
    this.#switch.replaceChildren();
    this.#setState('locked');
    this.#cancel.focus();
  }

  #open(): void {
    if (this.#dialog.open) return;
    this.#returnFocus = document.activeElement;
    this.#dialog.showModal();
  }

  #render(prompt: CodePrompt): void {
    const { factor } = prompt;
    this.#title.textContent = factor === 'password' ? 'Confirm your password' : factor === 'passkey' ? 'Confirm it is you with your passkey' : 'Enter your verification code';
    this.#submit.textContent = factor === 'passkey' ? 'Use your passkey' : 'Verify';
    this.#purpose.textContent = purposeOf(prompt.method);
    this.#message.textContent = messageFor(prompt);
    this.#label.textContent = LABELS[factor];
    this.#input.value = '';
    this.#input.type = factor === 'password' ? 'password' : 'text';
    this.#input.autocomplete = factor === 'password' ? 'current-password' : 'one-time-code';
    this.#input.inputMode = factor === 'email' ? 'numeric' : 'text';
    this.#showError(prompt.usedWaitMs !== undefined
      ? (prompt.usedWaitMs > 0 ? `That code was already used. Wait for the next one from your app (in ${formatWait(prompt.usedWaitMs)}).` : 'That code was already used. Enter the next one your app shows.')
      : prompt.passkeyProblem !== undefined ? prompt.passkeyProblem
      : prompt.invalid ? invalidText(factor) : '');
    const others = factor === 'password' ? [] : prompt.availableMethods.filter((m) => m !== factor);
    this.#switch.replaceChildren(...others.map((other) => {
      const button = el('button', { text: SWITCH_LABELS[other] ?? `Use ${other} instead`, attrs: { type: 'button', 'data-method': other } });
      button.addEventListener('click', () => this.#switchTo(other));
      return button;
    }));
  }

  #answer(): void {
    if (this.#state !== 'entry' || !this.#prompt) return;
    const { factor } = this.#prompt;
    if (factor === 'passkey') {
      this.#settle({ code: '', method: factor, switched: false });
      this.#message.textContent = 'Waiting for your passkey: follow your browser’s prompt…';
      this.#setState('busy');
      return;
    }
    // Passwords are taken as typed; codes lose the spaces people copy with them.
    const code = factor === 'password' ? this.#input.value : this.#input.value.replace(/\s+/g, '');
    if (code === '') {
      this.#showError(factor === 'password' ? 'Enter your password.' : 'Enter the code.');
      this.#input.focus();
      return;
    }
    this.#settle({ code, method: factor, switched: false });
    this.#message.textContent = 'Checking…';
    this.#setState('busy');
  }

  #switchTo(factor: Factor): void {
    if (this.#state !== 'entry') return;
    this.#settle({ code: '', method: factor, switched: true });
    this.#message.textContent = factor === 'email' ? 'Sending a code to your email address…' : 'One moment…';
    this.#showError('');
    this.#setState('busy');
  }

  #setState(state: State): void {
    this.#state = state;
    const busy = state === 'busy';
    if (busy) this.#dialog.setAttribute('aria-busy', 'true');
    else this.#dialog.removeAttribute('aria-busy');
    this.#entry.hidden = state === 'locked' || this.#prompt?.factor === 'passkey';
    this.#submit.hidden = state === 'locked';
    this.#input.disabled = busy;
    this.#submit.disabled = busy;
    for (const button of this.#switch.querySelectorAll('button')) button.disabled = busy;
    this.#cancel.textContent = state === 'locked' ? 'Close' : 'Cancel';
  }

  #showError(text: string): void {
    this.#error.textContent = text;
    if (text === '') this.#input.removeAttribute('aria-invalid');
    else this.#input.setAttribute('aria-invalid', 'true');
  }

  #settle(answer: CodeAnswer | null): void {
    const pending = this.#pending;
    this.#pending = null;
    pending?.(answer);
  }

  #closed(): void {
    this.#state = 'closed';
    this.#prompt = null;
    this.#input.value = '';
    this.#settle(null);
    const target = this.#returnFocus;
    this.#returnFocus = null;
    if (target instanceof HTMLElement && target.isConnected && !target.closest('[hidden]')) target.focus();
    else byId('main').focus();
  }
}

function messageFor(prompt: CodePrompt): string {
  switch (prompt.factor) {
    case 'totp':
      return 'Open your authenticator app and enter the 6-digit code it shows, or enter one of your backup codes.';
    case 'email': {
      const until = prompt.codeExpires ? ` It is valid until ${prompt.codeExpires.toLocaleTimeString(undefined, { timeStyle: 'short' })}.` : '';
      return prompt.emailCodeSent
        ? `We sent a 6-digit code to your email address. Enter it here.${until}`
        : `Enter the 6-digit code from the email we sent you.${until}`;
    }
    case 'password':
      return 'You have no second factor yet, so enter your password again.';
    case 'passkey':
      return prompt.invalid || prompt.passkeyProblem !== undefined
        ? 'Your passkey was not used. Try it again, or use another of your factors below.'
        : 'Use your passkey: your device asks for your fingerprint, face or PIN. Or use another of your factors below.';
  }
}

function invalidText(factor: Factor): string {
  if (factor === 'password') return 'That password is not correct.';
  return factor === 'passkey' ? 'That passkey was not accepted.' : 'That code is not valid.';
}
