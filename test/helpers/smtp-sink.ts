/**
 * A real SMTP server on loopback that keeps what it receives, for mail tests. Plain text
 * only (no STARTTLS), any or no authentication. Set `rejectAll` to make it answer 550.
 */
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { expect } from 'chai';

/**
 * The token a mail carries: checks the subject, then returns the first group of `pattern`
 * matched against the text with CRLF line ends made LF.
 */
export function tokenInMail(mail: Pick<SinkMessage, 'text' | 'subject'>, subject: string, pattern: RegExp): string {
  expect(mail.subject).to.equal(subject);
  const match = pattern.exec(mail.text.replace(/\r\n/g, '\n'));
  expect(match, mail.text).to.not.equal(null);
  return match![1]!;
}

/** A received message, minimally parsed. */
export interface SinkMessage {
  /** Envelope sender. */
  from: string;
  /** Envelope recipients. */
  to: string[];
  /** Decoded `Subject:` header. */
  subject: string;
  /** Decoded text/plain body ('' when there is none). */
  text: string;
  /** Decoded text/html body, when present. */
  html?: string;
  /** Lower-cased header names to raw (unfolded) values. */
  headers: Map<string, string>;
  /** The message as received. */
  raw: string;
}

type Waiter = { predicate: (m: SinkMessage) => boolean; resolve: (m: SinkMessage) => void };

/** SMTP sink; `start()` before use, `stop()` after. */
export class SmtpSink {
  readonly messages: SinkMessage[] = [];
  /** When true, RCPT TO and DATA are refused with 550. */
  rejectAll = false;
  /** Messages whose DATA has started (held ones included): a positive signal that a mail is on its way. */
  dataStarted = 0;
  private held: Promise<void> | null = null;
  private waiters: Waiter[] = [];
  private server: SMTPServer;

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      hideSTARTTLS: true,
      logger: false,
      closeTimeout: 200,
      onAuth: (_auth, _session, callback) => callback(null, { user: 'sink' }),
      onRcptTo: (_address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) => {
        callback(this.rejectAll ? refusal('recipient refused by test sink') : null);
      },
      onData: (stream: Readable, session: SMTPServerSession, callback: (err?: Error | null) => void) => {
        const chunks: Buffer[] = [];
        this.dataStarted++;
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          void (this.held ?? Promise.resolve()).then(() => {
            if (this.rejectAll) return callback(refusal('message refused by test sink'));
            const raw = Buffer.concat(chunks).toString('utf8');
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
            this.receive(parseMessage(raw, from, session.envelope.rcptTo.map((a) => a.address)));
            callback(null);
          });
        });
      },
    });
  }

  /**
   * Holds every message at the end of its DATA (the sender waits for the answer) until the
   * returned function is called: a slow mail server, to see what a caller waits for.
   */
  hold(): () => void {
    let release!: () => void;
    this.held = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.held = null;
      release();
    };
  }

  /** Listens on 127.0.0.1, on a free port. */
  start(): Promise<{ port: number; url: string }> {
    return new Promise((resolve, reject) => {
      this.server.on('error', reject);
      const srv = this.server.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as AddressInfo;
        resolve({ port, url: `smtp://127.0.0.1:${port}` });
      });
    });
  }

  /** Resolves with the first message (already received or future) matching `predicate`. */
  waitFor(predicate: (m: SinkMessage) => boolean = () => true, timeoutMs = 2000): Promise<SinkMessage> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`SmtpSink.waitFor: no matching message within ${timeoutMs} ms (${this.messages.length} received)`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Stops listening and drops open connections. */
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private receive(msg: SinkMessage): void {
    this.messages.push(msg);
    for (const w of this.waiters.filter((x) => x.predicate(msg))) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(msg);
    }
  }
}

function refusal(text: string): Error {
  return Object.assign(new Error(text), { responseCode: 550 });
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

function splitPart(raw: string): Part {
  const normalized = raw.replace(/\r\n/g, '\n');
  const cut = normalized.indexOf('\n\n');
  const head = cut < 0 ? normalized : normalized.slice(0, cut);
  const body = cut < 0 ? '' : normalized.slice(cut + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeBody(part: Part): string {
  const cte = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') return decodeQuotedPrintable(part.body);
  return part.body;
}

function decodeQuotedPrintable(s: string): string {
  const joined = s.replace(/=\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i] as string, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Decodes RFC 2047 encoded words (`=?utf-8?Q?...?=`, `=?utf-8?B?...?=`). */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?[^?]+\?([QqBb])\?([^?]*)\?=/g, (_m, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    );
}

function collect(part: Part, out: { text?: string; html?: string }): void {
  const type = part.headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const sections = part.body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      collect(splitPart(section.replace(/^\n/, '')), out);
    }
  } else if (/^text\/html/i.test(type)) {
    out.html ??= decodeBody(part).replace(/\n$/, '');
  } else if (/^text\/plain/i.test(type)) {
    out.text ??= decodeBody(part).replace(/\n$/, '');
  }
}

/** Parses a raw RFC 822 message well enough for assertions. */
export function parseMessage(raw: string, from: string, to: string[]): SinkMessage {
  const top = splitPart(raw);
  const bodies: { text?: string; html?: string } = {};
  collect(top, bodies);
  const msg: SinkMessage = {
    from,
    to,
    subject: decodeHeader(top.headers.get('subject') ?? ''),
    text: bodies.text ?? '',
    headers: top.headers,
    raw,
  };
  if (bodies.html !== undefined) msg.html = bodies.html;
  return msg;
}
