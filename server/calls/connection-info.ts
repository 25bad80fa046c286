/**
 * `this.connection` in methods and publications: id, client address and a safe subset of the
 * upgrade request's headers, as Meteor gives them.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Headers copied into `connection.httpHeaders`; never cookies or authorization. */
export const SAFE_HEADERS: readonly string[] = Object.freeze(['user-agent', 'x-forwarded-for', 'x-real-ip', 'host', 'accept-language']);

export interface ConnectionInfo {
  /** The DDP session id. */
  readonly id: string;
  /** The client's address: the socket's, or from `X-Forwarded-For` with a trusted proxy count. */
  readonly clientAddress: string;
  readonly httpHeaders: Readonly<Record<string, string>>;
  /** Run `fn` when the connection closes. */
  onClose(fn: () => void): void;
  /** Close the connection from the server side. */
  close(): void;
}

/** Copy the safe headers (first value of repeated ones). */
export function safeHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SAFE_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value) && typeof value[0] === 'string') out[name] = value[0];
  }
  return out;
}

/**
 * The client address, as Meteor computes it with `HTTP_FORWARDED_COUNT`: with N trusted proxies,
 * the N-th entry from the right of `X-Forwarded-For`; with none, or fewer entries than proxies,
 * the socket's own address.
 */
export function clientAddressOf(remoteAddress: string, headers: IncomingHttpHeaders, forwardedCount: number): string {
  if (forwardedCount <= 0) return remoteAddress;
  const header = headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (typeof raw !== 'string' || raw.trim() === '') return remoteAddress;
  const list = raw.trim().split(/\s*,\s*/);
  if (forwardedCount > list.length) return remoteAddress;
  return list[list.length - forwardedCount] ?? remoteAddress;
}
