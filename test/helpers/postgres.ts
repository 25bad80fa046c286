/**
 * The PostgreSQL the tests use (the machine's, on its standard port), and the one way a suite
 * skips when it does not answer: with the reason printed under each skipped test.
 */
import pg from 'pg';
import { skipBecause } from './skip.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** In a `before` hook: skips the suite, saying why, unless PostgreSQL answers at `url`. */
export async function skipUnlessPostgres(ctx: Mocha.Context, url = PG_URL): Promise<void> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
  } catch (err) {
    skipBecause(ctx, `PostgreSQL does not answer at ${url} (${(err as Error).message})`);
  } finally {
    await probe.end().catch(() => {});
  }
}
