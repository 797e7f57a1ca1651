import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../contract/errors.js';
import { APP_MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'imagebench.db';

export interface OpenDatabaseOptions {
  /** Defaults to `imagebench.db`; tests and the studio outbox of a second seat use their own. */
  fileName?: string;
  /** Defaults to the app's schema; tests pass their own list to exercise the migrator. */
  migrations?: readonly string[];
  /** How long a writer waits for another process (the app and the CLI share the file). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the app database in the data directory and brings its schema up to date.
 *
 * WAL lets readers (the gallery, the dashboard) run while a job writes; `synchronous = FULL` makes
 * every commit durable even across a power cut, because a reservation that silently disappears is
 * money spent outside the budget. That costs an fsync per commit (~0.2 ms here, more on some
 * laptops), so hot read paths (the exact cache) batch their bookkeeping writes instead.
 */
export function openDatabase(dataDir: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const file = path.join(dataDir, options.fileName ?? DATABASE_FILE);
  let db: SqliteDatabase;
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    db = new Database(file);
  } catch (error) {
    throw sqliteError(error, `open the database ${file}`);
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, options.migrations ?? APP_MIGRATIONS);
  } catch (error) {
    db.close();
    throw sqliteError(error, `prepare the database ${file}`);
  }
  return db;
}

/** Applies every migration newer than the database, each in its own write transaction. */
export function migrate(db: SqliteDatabase, migrations: readonly string[]): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const current = (): number => (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const found = current();
  if (found > migrations.length) {
    throw new AppError('invalid_input', `The database was written by a newer ImageBench (schema ${found}, this build knows ${migrations.length}).`, {
      hint: 'Update ImageBench. Do not delete the database: it holds your spend ledger.',
    });
  }
  for (let version = found + 1; version <= migrations.length; version += 1) {
    const sql = migrations[version - 1] ?? '';
    // IMMEDIATE takes the write lock first, so a second process opening the file at the same moment
    // waits and then sees the version already applied instead of applying it twice.
    db.transaction(() => {
      if (current() >= version) return;
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
    }).immediate();
  }
  return current();
}

/** SQLite's disk-full and read-only errors become something a user can act on; others pass through. */
export function sqliteError(error: unknown, doing: string): unknown {
  if (error instanceof AppError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new AppError('disk_full', `The disk is full: could not ${doing}.`, {
      hint: 'Free some disk space (or lower cache.imageStoreMaxMb so old previews are evicted) and try again.',
      cause: error,
    });
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EROFS') {
    return new AppError('invalid_input', `Could not ${doing}: the data directory is not writable.`, {
      hint: 'Check the permissions of the data directory, or point IMAGEBENCH_HOME at a writable folder.',
      cause: error,
    });
  }
  return error;
}
