/** Reading a JSON request body with a size limit; clear errors for the client. */
import type { IncomingMessage } from 'node:http';

/** A request the client must fix: the status and a message for people. */
export class HttpRequestError extends Error {
  override name = 'HttpRequestError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Read and parse a JSON object body of at most `limit` bytes. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpRequestError(413, `Request body too large: at most ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new HttpRequestError(413, `Request body too large: at most ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpRequestError(400, 'The request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpRequestError(400, 'The request body must be a JSON object');
  return value as Record<string, unknown>;
}
