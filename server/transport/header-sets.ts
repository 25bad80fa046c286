/**
 * One frozen headers object per distinct set of safe headers, shared by every connection that
 * sent the same values. Each socket keeps `connection.httpHeaders` for its whole life, and
 * the clients of one application nearly all send the same host, user agent and language:
 * with thousands of idle connections, one copy instead of thousands.
 */

/** Distinct header sets remembered; past this the cache starts over (it only saves memory). */
const MAX_SETS = 1024;

export class HeaderSets {
  private readonly sets = new Map<string, Readonly<Record<string, string>>>();

  /** The shared frozen copy of `headers` (a plain object of strings). */
  intern(headers: Record<string, string>): Readonly<Record<string, string>> {
    let key = '';
    for (const name in headers) key += `${name}\u0000${headers[name]!}\u0000`;
    const known = this.sets.get(key);
    if (known) return known;
    if (this.sets.size >= MAX_SETS) this.sets.clear();
    const frozen = Object.freeze(headers);
    this.sets.set(key, frozen);
    return frozen;
  }
}
