/**
 * The PostgreSQL the tests use (the machine's, on its standard port): whether it answers, the
 * one way a suite skips when it does not (with the reason printed under each skipped test),
 * and dropping a test's schema.
 */
import pg from 'pg';
import { skipBecause } from './skip.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Null when PostgreSQL answers at `url`; otherwise why not. */
export async function pgProblem(url = PG_URL): Promise<string | null> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
    await probe.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await probe.end().catch(() => {});
  }
}

/** In a `before` hook: skips the suite, saying why, unless PostgreSQL answers at `url`. */
export async function skipUnlessPostgres(ctx: Mocha.Context, url = PG_URL): Promise<void> {
  const problem = await pgProblem(url);
  if (problem !== null) skipBecause(ctx, `PostgreSQL does not answer at ${url} (${problem})`);
}

/** Runs one statement on a connection of its own, and returns its rows. */
export async function pgQuery<R extends pg.QueryResultRow>(sql: string, url = PG_URL): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Drops a test's schema and everything in it. */
export async function dropSchema(schema: string, url = PG_URL): Promise<void> {
  await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, url);
}
