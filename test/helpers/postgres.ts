import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A real, throwaway PostgreSQL 15 for tests and benchmarks: initdb into a temp dir, pg_ctl on a free
 * loopback port with its own socket dir. PostgreSQL refuses to run as root, so as root it runs as a
 * system user `imagebench_pg` that is created on first use. Skipped only when the binaries are absent.
 */

const run = promisify(execFile);
const PG_USER = 'imagebench_pg';
const CANDIDATE_BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'];

export interface PostgresServer {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust auth on loopback). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Creates a fresh database and returns its URL, so each test gets its own schema. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast`: open connections are terminated, as when a studio's server goes down. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (if running) and deletes its files. */
  destroy(): Promise<void>;
}

function findBinDir(): string | null {
  const fromEnv = process.env.IMAGEBENCH_PG_BIN;
  const dirs = fromEnv ? [fromEnv, ...CANDIDATE_BIN_DIRS] : CANDIDATE_BIN_DIRS;
  return dirs.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) ?? null;
}

/** Why the PostgreSQL tests cannot run here, or null when they can. */
export function postgresSkipReason(): string | null {
  if (findBinDir()) return null;
  return `PostgreSQL server binaries not found in ${CANDIDATE_BIN_DIRS.join(', ')} (install Debian's postgresql package, or set IMAGEBENCH_PG_BIN)`;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function lookupUser(name: string): { uid: number; gid: number } | null {
  const res = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (res.status !== 0) return null;
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(res.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Test files start clusters in parallel, so two may race to create the user: retry and re-check. */
async function ensurePgUser(): Promise<{ uid: number; gid: number }> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const found = lookupUser(PG_USER);
    if (found) return found;
    spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', PG_USER]);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`could not create the system user ${PG_USER} to run PostgreSQL (useradd failed)`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StartPostgresOptions {
  /**
   * Keep fsync and synchronous commit on, as a real server runs: for benchmarks. Tests leave it off
   * because they restart the server but never pull the power, and the 2 cores are shared.
   */
  durable?: boolean;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binDir = findBinDir();
  if (!binDir) throw new Error(postgresSkipReason() ?? 'PostgreSQL not found');
  const owner = isRoot() ? await ensurePgUser() : null;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'imagebench-pg-'));
  const dataDir = path.join(root, 'data');
  const socketDir = path.join(root, 'sock');
  const logFile = path.join(root, 'postgres.log');
  fs.mkdirSync(socketDir);
  if (owner) for (const p of [root, socketDir]) fs.chownSync(p, owner.uid, owner.gid);

  const asOwner = (bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> => {
    const file = path.join(binDir, bin);
    return owner ? run('runuser', ['-u', PG_USER, '--', file, ...args]) : run(file, args);
  };
  const asOwnerSync = (bin: string, args: string[]): void => {
    const file = path.join(binDir, bin);
    if (owner) spawnSync('runuser', ['-u', PG_USER, '--', file, ...args]);
    else spawnSync(file, args);
  };

  await asOwner('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const serverOptions = [
    `-k ${socketDir}`,
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=200',
    '-c shared_buffers=32MB',
    ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  let running = false;
  const start = async (): Promise<void> => {
    try {
      await asOwner('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions]);
    } catch (error) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '(no log)';
      throw new Error(`pg_ctl start failed: ${String(error)}\n${log}`);
    }
    running = true;
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (!running) return;
    await asOwner('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '60']);
    running = false;
  };
  // A test that crashes must not leave a postgres behind.
  const onExit = (): void => {
    if (running) asOwnerSync('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate']);
  };
  process.once('exit', onExit);

  await start();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgresql://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: () => stop('fast'),
    start,
    async destroy(): Promise<void> {
      await stop('immediate');
      process.removeListener('exit', onExit);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
