/** A rendered message, ready for `Mailer.send` once `to` is added. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Only http(s) links become clickable; anything else (javascript:, data:) is shown as text. */
function isWebUrl(url: string): boolean {
  try {
    const p = new URL(url).protocol;
    return p === 'https:' || p === 'http:';
  } catch {
    return false;
  }
}

function page(paragraphs: string[]): string {
  return `<!doctype html>\n<html><body>\n${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}\n</body></html>\n`;
}

function minutes(n: number): string {
  return n === 1 ? '1 minute' : `${n} minutes`;
}

/** Input of {@link twoFactorCodeMail}. */
export interface TwoFactorCodeMailInput {
  code: string;
  expiresInMinutes: number;
  username: string;
}

/** The email carrying a 2FA code. The code is in the subject so it shows in notifications. */
export function twoFactorCodeMail({ code, expiresInMinutes, username }: TwoFactorCodeMailInput): MailContent {
  const intro = `Hello ${username},`;
  const body = `your verification code is ${code}. It expires in ${minutes(expiresInMinutes)} and works once.`;
  const warn = 'If you did not try to sign in or confirm an action, someone may know your password: change it.';
  return {
    subject: `Your verification code: ${code}`,
    text: `${intro}\n\n${body}\n\n${warn}\n`,
    html: page([
      escapeHtml(intro),
      `your verification code is <strong style="font-size:1.4em;letter-spacing:0.1em">${escapeHtml(code)}</strong>. ` +
        `It expires in ${escapeHtml(minutes(expiresInMinutes))} and works once.`,
      escapeHtml(warn),
    ]),
  };
}

/** Input of {@link verifyEmailMail}: a link to click, or a token to paste. */
export type VerifyEmailMailInput =
  | { username: string; url: string; token?: undefined }
  | { username: string; token: string; url?: undefined };

/** The email that confirms an address belongs to the user. */
export function verifyEmailMail(input: VerifyEmailMailInput): MailContent {
  const intro = `Hello ${input.username},`;
  const ignore = 'If you did not add this address, ignore this message.';
  if (input.url !== undefined) {
    const link = isWebUrl(input.url)
      ? `<a href="${escapeHtml(input.url)}">${escapeHtml(input.url)}</a>`
      : escapeHtml(input.url);
    return {
      subject: 'Verify your email address',
      text: `${intro}\n\nTo verify your email address, open this link:\n\n${input.url}\n\n${ignore}\n`,
      html: page([escapeHtml(intro), `To verify your email address, open this link:<br>${link}`, escapeHtml(ignore)]),
    };
  }
  return {
    subject: 'Verify your email address',
    text: `${intro}\n\nTo verify your email address, enter this token:\n\n${input.token}\n\n${ignore}\n`,
    html: page([
      escapeHtml(intro),
      `To verify your email address, enter this token:<br><code>${escapeHtml(input.token)}</code>`,
      escapeHtml(ignore),
    ]),
  };
}

/** Input of {@link resetPasswordMail}. */
export interface ResetPasswordMailInput {
  token: string;
  username: string;
  expiresInMinutes: number;
  /** The link that finishes the reset (the server's public URL + `#/reset-password/<token>`); without it, the token alone. */
  url?: string;
}

/** The email with a password-reset link, or the token alone when the server has no public URL. */
export function resetPasswordMail({ token, username, expiresInMinutes, url }: ResetPasswordMailInput): MailContent {
  const intro = `Hello ${username},`;
  const ignore = 'If it was not you, ignore this message: your password stays as it is.';
  if (url !== undefined) {
    const body = `someone asked to reset your password. Open this link within ${minutes(expiresInMinutes)} to choose a new one:`;
    const link = isWebUrl(url) ? `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>` : escapeHtml(url);
    return {
      subject: 'Reset your password',
      text: `${intro}\n\n${body}\n\n${url}\n\n${ignore}\n`,
      html: page([escapeHtml(intro), `${escapeHtml(body)}<br>${link}`, escapeHtml(ignore)]),
    };
  }
  const body = `someone asked to reset your password. Use this token within ${minutes(expiresInMinutes)}:`;
  return {
    subject: 'Reset your password',
    text: `${intro}\n\n${body}\n\n${token}\n\n${ignore}\n`,
    html: page([escapeHtml(intro), `${escapeHtml(body)}<br><code>${escapeHtml(token)}</code>`, escapeHtml(ignore)]),
  };
}

/** Input of {@link accountLockedMail}. */
export interface AccountLockedMailInput {
  username: string;
  /** What was locked, in words: "sign-in with a password from new places", "your authenticator app codes". */
  what: string;
  /** When the lock-out ends. */
  until: Date;
  /** The account page, where the password is changed and other sessions signed out; null when the server has no public URL. */
  accountUrl: string | null;
}

/**
 * The email telling a user that repeated wrong attempts locked part of their account. It
 * carries no code and no link that signs anyone in: only where to change the password.
 */
export function accountLockedMail({ username, what, until, accountUrl }: AccountLockedMailInput): MailContent {
  const intro = `Hello ${username},`;
  const body = `after repeated wrong attempts, ${what} is locked until ${until.toISOString()} (UTC).`;
  const advice = 'If these attempts were not yours, someone may know your password or hold one of your sessions: ' +
    'change your password and sign out your other sessions' + (accountUrl === null ? ' on the account page.' : ' at');
  const text = `${intro}\n\n${body}\n\n${advice}${accountUrl === null ? '' : `\n\n${accountUrl}`}\n\nIf they were yours, wait until then or ask your administrator.\n`;
  const link = accountUrl !== null && isWebUrl(accountUrl) ? `<a href="${escapeHtml(accountUrl)}">${escapeHtml(accountUrl)}</a>` : escapeHtml(accountUrl ?? '');
  return {
    subject: 'Your account was locked after repeated wrong attempts',
    text,
    html: page([
      escapeHtml(intro),
      escapeHtml(body),
      `${escapeHtml(advice)}${accountUrl === null ? '' : `<br>${link}`}`,
      escapeHtml('If they were yours, wait until then or ask your administrator.'),
    ]),
  };
}
