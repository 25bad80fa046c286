/** SMTP connection settings parsed from a URL. */
export interface SmtpUrlSettings {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (`smtps://`); otherwise STARTTLS when offered. */
  secure: boolean;
  auth?: { user: string; pass: string };
  /** From `?rejectUnauthorized=false`: accept self-signed certificates (testing only). */
  rejectUnauthorized: boolean;
  /** From `?requireTLS=true`: fail instead of sending in clear when STARTTLS is missing. */
  requireTLS: boolean;
  /** From `?ignoreTLS=true`: never upgrade with STARTTLS. */
  ignoreTLS: boolean;
}

const KNOWN_PARAMS = new Set(['rejectUnauthorized', 'tls.rejectUnauthorized', 'requireTLS', 'ignoreTLS']);

/**
 * Parses `smtp://[user[:pass]@]host[:port][?options]` or `smtps://...`. Default ports are
 * 587 for smtp:// and 465 for smtps://. User and password are percent-decoded.
 * @throws Error naming the problem for other schemes, a missing host, or unknown options.
 */
export function parseSmtpUrl(url: string): SmtpUrlSettings {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`mail URL is not a valid URL (expected smtp://host:port or smtps://host:port)`);
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw new Error(`mail URL scheme must be smtp:// or smtps://, got ${u.protocol}//`);
  }
  if (!u.hostname) throw new Error('mail URL has no host');
  const secure = u.protocol === 'smtps:';
  for (const key of u.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(key)) {
      throw new Error(`mail URL option "${key}" is not supported (known: ${[...KNOWN_PARAMS].join(', ')})`);
    }
  }
  const flag = (name: string): string | null => u.searchParams.get(name);
  const settings: SmtpUrlSettings = {
    // URL keeps IPv6 literals bracketed; sockets want them bare.
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    rejectUnauthorized: (flag('rejectUnauthorized') ?? flag('tls.rejectUnauthorized')) !== 'false',
    requireTLS: flag('requireTLS') === 'true',
    ignoreTLS: flag('ignoreTLS') === 'true',
  };
  if (u.username) {
    settings.auth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  }
  return settings;
}

/** The URL without its password, for logs and `Mailer.describe()`. */
export function redactSmtpUrl(url: string): string {
  const s = parseSmtpUrl(url);
  const scheme = s.secure ? 'smtps' : 'smtp';
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;
  const user = s.auth ? `${encodeURIComponent(s.auth.user)}@` : '';
  return `${scheme}://${user}${host}:${s.port}`;
}
