import pg from 'pg';
import { isUnreachable, studioDatabaseError, Unreachable } from './studio-pg-errors.js';

export interface StudioConnectionOptions {
  /** `postgresql://user@host:port/db`; the password comes separately, from the keychain. */
  url: string;
  password?: string;
  poolSize?: number;
  connectTimeoutMs?: number;
}

/**
 * The seat's connection pool to the studio database, and the one place that knows how a dropped
 * connection looks: a server restart must become "unreachable", never an uncaught error event.
 */
export class StudioConnection {
  /** host:port/database, for messages; never the user or the password. */
  readonly where: string;
  private readonly pool: pg.Pool;

  constructor(options: StudioConnectionOptions) {
    this.where = describe(options.url);
    this.pool = new pg.Pool({
      connectionString: options.url,
      password: options.password,
      max: options.poolSize ?? 2,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      idleTimeoutMillis: 10_000,
      statement_timeout: 15_000,
    });
    // An idle connection dropped by the server surfaces here; the next query reconnects or reports
    // the database unreachable, so there is nothing to do but not crash the process.
    this.pool.on('error', () => undefined);
  }

  query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params);
  }

  /**
   * A checked-out client for `body`. While it is out, a dropped connection is also emitted as an
   * event on the client; the query in flight (or the next one) rejects with the same error, which is
   * where it is handled, so the event only needs a listener. A broken client is destroyed, not pooled.
   */
  async withClient<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      return await body(client);
    } catch (error) {
      if (isUnreachable(error)) broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * BEGIN … COMMIT around `body`. Losing the connection becomes `Unreachable`, which records whether
   * COMMIT had been sent: only then may the server have applied the transaction.
   */
  transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      let commitSent = false;
      try {
        await client.query('BEGIN');
        const result = await body(client);
        commitSent = true;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (isUnreachable(error)) throw new Unreachable(error, commitSent);
        // The body's own error (a limit, a policy rule) is what the caller needs, not a failed ROLLBACK.
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** Runs a call that needs the database, turning "unreachable" into an error a user can act on. */
  async online<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw studioDatabaseError(error, this.where);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    // pg reports an unparsable URL itself; here it only names the database in messages.
    return 'the configured studio database';
  }
}
