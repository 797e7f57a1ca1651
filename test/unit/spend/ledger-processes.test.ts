import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/sqlite.js';
import { SpendLedger } from '../../../src/core/spend/ledger.js';
import { makeTempDir, repoRoot } from '../../helpers/tmp.js';

const fixtures = path.join(repoRoot, 'test', 'unit', 'spend', 'fixtures');

/** Runs the ledger in a real second process, our TypeScript loaded through fixtures/ts-loader.mjs. */
function ledgerChild(args: string[]) {
  return spawn(process.execPath, ['--import', path.join(fixtures, 'register-ts.mjs'), path.join(fixtures, 'ledger-child.ts'), ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function output(child: ReturnType<typeof ledgerChild>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('the ledger across processes', () => {
  it('keeps a reservation made by a process killed before it could settle, and lets it be reconciled', async () => {
    const { dir, cleanup } = makeTempDir('imagebench-crash-');
    cleanups.push(cleanup);
    const child = ledgerChild(['reserve-then-hang', dir, 'job-killed-mid-call']);
    const done = output(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (d.toString().includes('reserved') ? resolve() : undefined));
      child.on('close', () => reject(new Error('the child exited before reserving')));
    });
    child.kill('SIGKILL');
    const result = await done;
    expect(result.signal).toBe('SIGKILL');

    const db = openDatabase(dir);
    cleanups.unshift(() => db.close());
    const ledger = new SpendLedger(db, { timeZone: 'UTC' });
    const stale = ledger.listStale(0);
    expect(stale.map((e) => [e.requestId, e.status, e.reservedMicros])).toEqual([['job-killed-mid-call', 'reserved', 167_000]]);
    // The app finds out what happened to the job (here: the provider says it finished) and settles it.
    expect(ledger.settle('job-killed-mid-call', { usd: 0.042, source: 'provider-reported', basis: 'usage' }).changed).toBe(true);
    expect(ledger.listStale(0)).toEqual([]);
  });

  it('holds a hard limit when four processes reserve against it at once', async () => {
    const { dir, cleanup } = makeTempDir('imagebench-race-');
    cleanups.push(cleanup);
    const setup = openDatabase(dir);
    new SpendLedger(setup, { timeZone: 'UTC' }).budgets.set({ scope: 'global', period: 'day', hardMicros: 1_000_000 });
    setup.close();
    // 4 processes × 60 reservations of $0.01 against a $1.00 cap: exactly 100 fit. They start together.
    const children = [0, 1, 2, 3].map((n) => ledgerChild(['race', dir, `p${n}`, '60']));
    const finished = children.map(output);
    await Promise.all(children.map((c) => new Promise((resolve) => c.stdout.once('data', resolve))));
    children.forEach((c) => c.stdin.end('go\n'));
    const results = await Promise.all(finished);
    const tallies = results.map((r) => {
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout.replace('ready\n', '')) as { reserved: number; blocked: number };
    });
    expect(tallies.reduce((s, t) => s + t.reserved, 0)).toBe(100);
    expect(tallies.reduce((s, t) => s + t.blocked, 0)).toBe(140);
    const db = openDatabase(dir);
    cleanups.unshift(() => db.close());
    expect(db.prepare('SELECT COUNT(*) AS n, SUM(reserved_micros) AS held FROM ledger').get()).toEqual({ n: 100, held: 1_000_000 });
  }, 60_000);
});
