/**
 * The accounts of the virtual users (`--users users.csv`): one line per user,
 * `username,password[,totpSecret]`, or with a header line naming the columns among
 * `username`, `password`, `totpSecret` and `token` (a resume token or personal access token,
 * which logs in without a password). Each virtual user logs in as its own line.
 * @module
 */

/** One account. */
export interface LoadUser {
  username?: string;
  password?: string;
  /** Base32 TOTP secret: `totp-required` is answered with a computed code. */
  totpSecret?: string;
  /** Logs in with a token instead of a password. */
  token?: string;
}

/** A users file that cannot be used; the message names the line. */
export class UsersFileError extends Error {
  override name = 'UsersFileError';
}

const COLUMNS = ['username', 'password', 'totpSecret', 'token'] as const;
type Column = (typeof COLUMNS)[number];
const ALIASES: Readonly<Record<string, Column>> = { username: 'username', user: 'username', password: 'password', totpsecret: 'totpSecret', totp: 'totpSecret', secret: 'totpSecret', token: 'token', pat: 'token' };

/** Parses the CSV text. @throws UsersFileError naming the first bad line. */
export function parseUsers(text: string): LoadUser[] {
  const lines = text.split('\n').map((l, i) => ({ cells: splitCsv(l.replace(/\r$/, '')), line: i + 1 })).filter((l) => l.cells.some((c) => c !== '') && !l.cells[0]!.startsWith('#'));
  if (lines.length === 0) throw new UsersFileError('the users file has no users (one line per user: username,password[,totpSecret])');
  let columns: Column[] = ['username', 'password', 'totpSecret'];
  const first = lines[0]!;
  const header = first.cells.map((c) => ALIASES[c.trim().toLowerCase()]);
  if (header.every((c) => c !== undefined)) {
    columns = header as Column[];
    lines.shift();
    const hasLogin = columns.includes('token') || (columns.includes('username') && columns.includes('password'));
    if (!hasLogin) throw new UsersFileError(`line ${first.line}: the header needs username and password columns, or a token column`);
    if (lines.length === 0) throw new UsersFileError('the users file has a header but no users');
  }
  return lines.map(({ cells, line }) => {
    const user: LoadUser = {};
    columns.forEach((column, i) => {
      const value = cells[i]?.trim();
      if (value !== undefined && value !== '') user[column] = value;
    });
    if (user.token === undefined && (user.username === undefined || user.password === undefined)) {
      const want = columns.includes('token') ? 'a token, or a username and a password' : 'a username and a password';
      throw new UsersFileError(`line ${line}: expected ${want} (columns: ${columns.join(',')}), got ${cells.length} column${cells.length === 1 ? '' : 's'}`);
    }
    return user;
  });
}

/** Splits one CSV line; double quotes may wrap a cell with commas (`""` is a quote). */
function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** The variables a transcript sees for a user: username, password, secret (and totpSecret), token. */
export function userVariables(user: LoadUser | undefined): Map<string, unknown> {
  const vars = new Map<string, unknown>();
  if (!user) return vars;
  if (user.username !== undefined) vars.set('username', user.username);
  if (user.password !== undefined) vars.set('password', user.password);
  if (user.totpSecret !== undefined) {
    vars.set('secret', user.totpSecret);
    vars.set('totpSecret', user.totpSecret);
  }
  if (user.token !== undefined) vars.set('token', user.token);
  return vars;
}
