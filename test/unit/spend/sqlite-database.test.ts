import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { APP_MIGRATIONS } from '../../../src/core/db/migrations.js';
import { DATABASE_FILE, openDatabase } from '../../../src/core/db/sqlite.js';
import { makeTempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function tempDir(): string {
  const { dir, cleanup } = makeTempDir('imagebench-db-');
  cleanups.push(cleanup);
  return dir;
}

describe('the app database', () => {
  it('is one WAL file in the data directory with foreign keys on and every migration applied', () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const db = openDatabase(dir);
    expect(fs.existsSync(path.join(dir, DATABASE_FILE))).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(versions).toEqual(APP_MIGRATIONS.map((_, i) => i + 1));
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['images', 'gallery_pins', 'cache_entries', 'cache_counters', 'ledger', 'ledger_images', 'budgets', 'studio_outbox']));
    db.close();
  });

  it('applies only the new migrations when reopened by a newer build', () => {
    const dir = tempDir();
    const v1 = ['CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL) STRICT'];
    const first = openDatabase(dir, { migrations: v1 });
    first.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    first.close();
    const v2 = [...v1, 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0'];
    const second = openDatabase(dir, { migrations: v2 });
    expect(second.prepare('SELECT text, pinned FROM notes').get()).toEqual({ text: 'kept', pinned: 0 });
    expect(second.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get()).toBe(2);
    second.close();
  });

  it('refuses a database written by a newer ImageBench instead of touching it', () => {
    const dir = tempDir();
    openDatabase(dir, { migrations: ['CREATE TABLE a (x INTEGER) STRICT', 'CREATE TABLE b (x INTEGER) STRICT'] }).close();
    let caught: unknown;
    try {
      openDatabase(dir, { migrations: ['CREATE TABLE a (x INTEGER) STRICT'] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).message).toMatch(/newer ImageBench \(schema 2, this build knows 1\)/);
    expect((caught as AppError).hint).toMatch(/Update ImageBench/);
  });

  it('rolls a failing migration back whole', () => {
    const dir = tempDir();
    const broken = ['CREATE TABLE ok (x INTEGER) STRICT', 'CREATE TABLE half (x INTEGER) STRICT; INSERT INTO missing VALUES (1)'];
    expect(() => openDatabase(dir, { migrations: broken })).toThrow(/no such table: missing/);
    const db = openDatabase(dir, { migrations: broken.slice(0, 1) });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toContain('ok');
    expect(tables).not.toContain('half');
    db.close();
  });
});
