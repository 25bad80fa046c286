/** The email-codes section: on and off (turning off always asks for a code), and the addresses used. */
import type { DdpClient } from '../client/index.js';
import { busy, byId, setStatus, show } from './dom.js';
import { reportError, type Guarded } from './guarded.js';

/** An address of the user's document. */
export interface EmailAddress {
  address: string;
  verified: boolean;
}

export class EmailPanel {
  readonly #section = byId('email-section');
  readonly #state = byId('email-state');
  readonly #addresses = byId('email-addresses');
  readonly #enable = byId('email-enable', HTMLButtonElement);
  readonly #disable = byId('email-disable', HTMLButtonElement);

  constructor(private readonly client: DdpClient, private readonly guarded: Guarded) {
    this.#enable.addEventListener('click', () => void this.#set(true));
    this.#disable.addEventListener('click', () => void this.#set(false));
  }

  /** Show the state the server publishes (`twoFactor.email` and `emails` of the user's document). */
  render(enabled: boolean, emails: readonly EmailAddress[]): void {
    const verified = emails.filter((e) => e.verified).map((e) => e.address);
    this.#state.textContent = enabled ? 'On' : 'Off';
    this.#addresses.textContent = verified.length > 0
      ? `Codes go to ${verified.join(', ')}.`
      : 'You have no verified email address, so email codes cannot be turned on.';
    show(this.#enable, !enabled);
    show(this.#disable, enabled);
    this.#enable.disabled = verified.length === 0;
  }

  async #set(on: boolean): Promise<void> {
    const done = busy(this.#section);
    try {
      if (on) await this.guarded.run(() => this.client.account.enableEmailCodes());
      else await this.guarded.run(() => this.client.account.disableEmailCodes());
      setStatus(on ? 'Email codes are on.' : 'Email codes are off.', 'success');
    } catch (error) {
      reportError(error, on ? 'Could not turn email codes on: ' : 'Could not turn email codes off: ');
    } finally {
      done();
      // The other button is now the visible one; keep the keyboard where the user was.
      (on ? this.#disable : this.#enable).focus();
    }
  }
}
