/**
 * What the account page's built-in methods answer, as both sides see it: the server builds these
 * records (`sessions:list`, `securityLog:list`) and the client hands them to the page.
 */

/** One session as `sessions:list` answers (Rocket.Chat's device-management names where it has them): an id, never the token. */
export interface SessionInfo {
  /** Public: names the session for `sessions:logout.me`, and cannot be turned back into the token. */
  sessionId: string;
  /** When the session signed in (the token was issued). */
  loginAt: Date;
  lastUsedAt: Date | null;
  /** `null` when the session does not expire. */
  expiresAt: Date | null;
  /** The client address the session was last used from. */
  ip: string | null;
  /** The user agent it was last used with, and its summary. */
  userAgent: string | null;
  device: { browser: string; os: string };
  /** The session the call came from. */
  current: boolean;
}

/** One entry of the user's security log, as `securityLog:list` answers. */
export interface SecurityLogEntry {
  /** The audit record's id, as text. */
  id: string;
  at: Date;
  /** The audit action (`user.login`, `2fa.failed`, `totp.enabled`, …). */
  action: string;
  ip: string | null;
  userAgent: string | null;
  device: { browser: string; os: string };
  details: Record<string, string | number | boolean>;
}

/** A page of the security log, newest first. */
export interface SecurityLogPage {
  entries: SecurityLogEntry[];
  offset: number;
  count: number;
  /** More, older entries follow this page. */
  hasMore: boolean;
}
