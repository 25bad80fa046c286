/**
 * Turns a recorded DDP session into a transcript that `script` replays and `load` runs against
 * another server, with no secret in clear:
 * - sends (`>`): the `randomSeed` of a method is dropped (a replay must not insert documents
 *   with the recorded ids); a login's password (plain or its sha-256 digest) becomes
 *   `"{{password}}"` (Meteor and ddp-guard accept a plain password; the transcript runner sends
 *   what the line says), its username `{{username}}`, a resume token `{{token}}` (the login
 *   token captured earlier in the session) or `{{resumeToken}}`; a TOTP code — in
 *   `{totp:{login,code}}`, a trailing `{twoFactorCode,twoFactorMethod:'totp'}` or the code of
 *   `2fa:validateTempToken` — becomes `{{totp:{{secret}}}}`, an email code `{{emailCode}}`, a
 *   password-factor digest `{{passwordDigest}}`, a backup code `{{backupCode}}`;
 * - expectations (`<`): only `connected`, `failed`, `result`, `ready`, `nosub` and `error`
 *   messages are expected (data messages, `updated` and pings vary with timing); the session id
 *   and a login's token are captured (`{{=session}}`, `{{=token}}`); dates, generated ids,
 *   tokens, TOTP secrets and otpauth URLs become `"*"`; an error keeps its code only.
 * @module
 */

/** One recorded message, in order. */
export interface RecordedMessage {
  fromServer: boolean;
  message: unknown;
}

const EXPECTED = new Set(['connected', 'failed', 'result', 'ready', 'nosub', 'error']);
const SKIPPED_SENDS = new Set(['ping', 'pong']);
/** Meteor's random ids: 17 characters of its unmistakable alphabet. */
const METEOR_ID = /^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/;
/** Tokens and other long random strings. */
const TOKEN_LIKE = /^[A-Za-z0-9_-]{20,}$/;
const SECRET_RESULTS = /^2fa:|token|backup|codes/i;
const BASE32_SECRET = /^[A-Z2-7]{16,}=*$/;

/** The transcript text of one recorded session. */
export function toTranscript(messages: readonly RecordedMessage[], source: string): string {
  const lines: string[] = [
    `# Recorded by ddp-guard record from ${source} on ${new Date().toISOString()}.`,
    '# Replay: ddp-guard script <this file> --url <server> --var username=... --var password=... [--var secret=<base32>]',
    '# Load:   ddp-guard load <server> --script <this file> --users users.csv (username,password,totpSecret)',
  ];
  const state: State = { loginIds: new Set(), methods: new Map(), token: undefined };
  for (const { fromServer, message } of messages) {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) continue;
    const m = message as Record<string, unknown>;
    if (fromServer) {
      if (typeof m.msg !== 'string' || !EXPECTED.has(m.msg)) continue;
      lines.push(`< ${JSON.stringify(expectation(m, state))}`);
    } else {
      if (typeof m.msg === 'string' && SKIPPED_SENDS.has(m.msg)) continue;
      lines.push(`> ${JSON.stringify(send(m, state))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

interface State {
  /** Ids of login calls, whose results carry the token. */
  loginIds: Set<string>;
  /** Method names by call id, to know what a result answers. */
  methods: Map<string, string>;
  /** The login token seen in a result, replaced by `{{token}}` in later sends. */
  token: string | undefined;
}

function send(m: Record<string, unknown>, state: State): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m };
  if (m.msg !== 'method') return replaceToken(out, state) as Record<string, unknown>;
  delete out.randomSeed;
  if (typeof m.id === 'string' && typeof m.method === 'string') state.methods.set(m.id, m.method);
  const params = Array.isArray(m.params) ? [...(m.params as unknown[])] : [];
  if (m.method === 'login' && typeof m.id === 'string') {
    state.loginIds.add(m.id);
    out.params = params.map((p) => loginParam(p, state));
    return out;
  }
  if (m.method === '2fa:validateTempToken' && typeof params[0] === 'string') params[0] = '{{totp:{{secret}}}}';
  const last = params[params.length - 1];
  if (isRecord(last) && typeof last.twoFactorCode === 'string') {
    params[params.length - 1] = { ...last, twoFactorCode: codeVariable(last.twoFactorMethod) };
  }
  out.params = params.map((p) => replaceToken(p, state));
  return out;
}

/** A login argument with its secrets as variables. */
function loginParam(p: unknown, state: State): unknown {
  if (!isRecord(p)) return p;
  if (isRecord(p.totp)) return { ...p, totp: { ...p.totp, login: loginParam(p.totp.login, state), code: '{{totp:{{secret}}}}' } };
  const out: Record<string, unknown> = { ...p };
  if ('password' in p) out.password = '{{password}}';
  if (isRecord(p.user) && typeof p.user.username === 'string') out.user = { ...p.user, username: '{{username}}' };
  if (typeof p.resume === 'string') out.resume = state.token !== undefined && p.resume === state.token ? '{{token}}' : '{{resumeToken}}';
  if (isRecord(p.code) || typeof p.code === 'string') out.code = '{{totp:{{secret}}}}';
  return out;
}

function codeVariable(method: unknown): string {
  switch (method) {
    case 'email':
      return '{{emailCode}}';
    case 'password':
      return '{{passwordDigest}}';
    case 'backup':
      return '{{backupCode}}';
    default:
      return '{{totp:{{secret}}}}';
  }
}

/** The login token, wherever a later send repeats it, becomes `{{token}}`. */
function replaceToken(value: unknown, state: State): unknown {
  if (state.token === undefined) return value;
  if (value === state.token) return '{{token}}';
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, state));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, state)]));
  return value;
}

function expectation(m: Record<string, unknown>, state: State): Record<string, unknown> {
  switch (m.msg) {
    case 'connected':
      return { msg: 'connected', session: '{{=session}}' };
    case 'failed':
      return { msg: 'failed' };
    case 'ready':
      return { msg: 'ready', subs: m.subs };
    case 'nosub':
      return isRecord(m.error) ? { msg: 'nosub', id: m.id, error: { error: m.error.error } } : { msg: 'nosub', id: m.id };
    case 'error':
      return { msg: 'error' };
  }
  // A result.
  const out: Record<string, unknown> = { msg: 'result', id: m.id };
  if (isRecord(m.error)) {
    out.error = { error: m.error.error };
    return out;
  }
  if (typeof m.id === 'string' && state.loginIds.has(m.id) && isRecord(m.result) && typeof m.result.token === 'string') {
    state.token = m.result.token;
    out.result = { id: '*', token: '{{=token}}' };
    return out;
  }
  // Two-factor and token methods answer with secrets, backup codes or tokens: any result will do.
  const method = typeof m.id === 'string' ? state.methods.get(m.id) : undefined;
  if ('result' in m) out.result = method !== undefined && SECRET_RESULTS.test(method) ? '*' : generalize(m.result);
  return out;
}

/** Values that differ on every server or every run, and secrets, become `"*"`. */
function generalize(value: unknown): unknown {
  if (typeof value === 'string') {
    if (METEOR_ID.test(value) || TOKEN_LIKE.test(value) || BASE32_SECRET.test(value) || value.startsWith('otpauth://')) return '*';
    return value.replace(/\*/g, '\\*');
  }
  if (Array.isArray(value)) return value.map(generalize);
  if (isRecord(value)) {
    if ('$date' in value) return '*';
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, generalize(v)]));
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
