/**
 * A fixed set of files from one folder, read once and kept in memory with an ETag. Only the
 * names listed are ever read, so no request path reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One file, ready to send. */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** A strong validator: the quoted sha-256 (base64url) of the body. */
  readonly etag: string;
}

/** The files of a folder by name; `load()` fails when one is missing. */
export class StaticFiles {
  #loaded: Promise<ReadonlyMap<string, StaticFile>> | null = null;

  /**
   * @param folder where the files are
   * @param types file name → content type; nothing else is served
   */
  constructor(readonly folder: string, private readonly types: Readonly<Record<string, string>>) {}

  /** Whether `name` is one of the files. */
  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.types, name);
  }

  /**
   * Every file, read on the first call. A failure is not kept, so building the files while the
   * server runs makes the next request succeed.
   */
  load(): Promise<ReadonlyMap<string, StaticFile>> {
    if (!this.#loaded) {
      this.#loaded = this.#read();
      this.#loaded.catch(() => {
        this.#loaded = null;
      });
    }
    return this.#loaded;
  }

  async #read(): Promise<ReadonlyMap<string, StaticFile>> {
    const files = new Map<string, StaticFile>();
    for (const [name, contentType] of Object.entries(this.types)) {
      const body = await readFile(join(this.folder, name));
      files.set(name, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url')}"` });
    }
    return files;
  }
}
