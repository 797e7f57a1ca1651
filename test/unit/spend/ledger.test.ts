import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import type { ActualCost, CostEstimate } from '../../../src/contract/money.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { SpendLedger } from '../../../src/core/spend/ledger.js';
import type { SpendRequest } from '../../../src/core/spend/spend-request.js';
import { makeTempDir } from '../../helpers/tmp.js';

const exact = (usd: number): CostEstimate => ({ kind: 'exact', usd, basis: 'price table: per image' });
const range = (minUsd: number, maxUsd: number): CostEstimate => ({ kind: 'range', minUsd, maxUsd, basis: 'tokens: 1k–4k output' });
const billed = (usd: number): ActualCost => ({ usd, source: 'provider-reported', basis: 'usage.output_tokens' });

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

let db: SqliteDatabase;
let cleanup: () => void;
let clock: number;
let ledger: SpendLedger;
let nextId = 0;

function request(estimate: CostEstimate, extra: Partial<SpendRequest> = {}): SpendRequest {
  nextId += 1;
  return { requestId: `req-${nextId}`, provider: 'openai', model: 'gpt-image-1', estimate, ...extra };
}

beforeEach(() => {
  const tmp = makeTempDir('imagebench-ledger-');
  cleanup = tmp.cleanup;
  db = openDatabase(tmp.dir);
  clock = Date.parse('2025-06-15T12:00:00Z');
  ledger = new SpendLedger(db, { timeZone: 'UTC', now: () => clock });
});
afterEach(() => {
  db.close();
  cleanup();
});

describe('reserve, settle, release', () => {
  it('reserves the upper bound of a range and settles to what the provider reported', () => {
    const r = request(range(0.011, 0.167), { project: 'poster', member: 'ana' });
    const reserved = ledger.reserve(r);
    expect(reserved.alreadyReserved).toBe(false);
    expect(reserved.entry).toMatchObject({
      status: 'reserved',
      reservedMicros: 167_000,
      estimate: { kind: 'range', minMicros: 11_000, maxMicros: 167_000 },
      project: 'poster',
      member: 'ana',
      currency: 'USD',
      actualMicros: null,
      finishedAt: null,
    });
    clock += 4_000;
    const settled = ledger.settle(r.requestId, billed(0.042));
    expect(settled).toMatchObject({ changed: true, overrunMicros: 0 });
    expect(settled.entry).toMatchObject({ status: 'settled', actualMicros: 42_000, actualSource: 'provider-reported', finishedAt: clock, reservedMicros: 167_000 });
  });

  it('is idempotent on the request id: a second reserve holds nothing, a second settle charges nothing', () => {
    ledger.budgets.set({ scope: 'global', period: 'day', hardMicros: 1_000_000 });
    const r = request(exact(0.04));
    ledger.reserve(r);
    expect(ledger.reserve(r).alreadyReserved).toBe(true);
    expect(ledger.settle(r.requestId, billed(0.04)).changed).toBe(true);
    const again = ledger.settle(r.requestId, billed(0.04));
    expect(again.changed).toBe(false);
    // A retried settle with another figure is still a no-op: the first outcome stands.
    expect(ledger.settle(r.requestId, billed(0.09)).entry.actualMicros).toBe(40_000);
    expect(db.prepare('SELECT COUNT(*) FROM ledger').pluck().get()).toBe(1);
    expect(ledger.budgets.usage()[0]?.usedMicros).toBe(40_000);
  });

  it('refuses a request id reused for a different request', () => {
    const r = request(exact(0.04));
    ledger.reserve(r);
    const error = thrown(() => ledger.reserve({ ...r, model: 'dall-e-3' }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(/already used for a different request/);
  });

  it('releases a failed call back to the budget and keeps one outcome per row', () => {
    ledger.budgets.set({ scope: 'global', period: 'day', hardMicros: 50_000 });
    const r = request(exact(0.04));
    ledger.reserve(r);
    expect(() => ledger.reserve(request(exact(0.04)))).toThrow(/hard limit/);
    expect(ledger.release(r.requestId, 'provider returned 500').entry).toMatchObject({ status: 'released', note: 'provider returned 500', actualMicros: null });
    expect(ledger.reserve(request(exact(0.04))).entry.status).toBe('reserved');
    const late = thrown(() => ledger.settle(r.requestId, billed(0.04)));
    expect(late.code).toBe('invalid_input');
    expect(late.message).toMatch(/already released/);
    expect(thrown(() => ledger.settle('never-reserved', billed(0.01))).code).toBe('not_found');
  });

  it('records a billed failure as failed-billed, counting its cost', () => {
    ledger.budgets.set({ scope: 'global', period: 'day', hardMicros: 1_000_000 });
    const r = request(exact(0.04));
    ledger.reserve(r);
    expect(ledger.failBilled(r.requestId, billed(0.04), 'moderation refusal, billed').entry).toMatchObject({ status: 'failed-billed', actualMicros: 40_000 });
    expect(ledger.budgets.usage()[0]?.usedMicros).toBe(40_000);
  });

  it('reports an actual cost above the reservation instead of hiding it', () => {
    const r = request(exact(0.04));
    ledger.reserve(r);
    expect(ledger.settle(r.requestId, billed(0.05)).overrunMicros).toBe(10_000);
  });

  it('needs an explicit allowance and a cap before reserving an unknown price', () => {
    const unknown: CostEstimate = { kind: 'unknown', reason: 'Leonardo bills in credits' };
    const refused = thrown(() => ledger.reserve(request(unknown, { provider: 'leonardo', model: 'phoenix' })));
    expect(refused.code).toBe('budget_exceeded');
    expect(refused.message).toMatch(/price of leonardo phoenix is unknown \(Leonardo bills in credits\)/);
    expect(() => ledger.reserve(request(unknown, { allowUnknownPrice: true }))).toThrow(/unknown/);
    const held = ledger.reserve(request(unknown, { allowUnknownPrice: true, capMicros: 250_000 }));
    expect(held.entry).toMatchObject({ reservedMicros: 250_000, estimate: { kind: 'unknown', minMicros: null, maxMicros: null, basis: 'Leonardo bills in credits' } });
  });
});

describe('append-only', () => {
  it('rejects edits other than a status transition, and every delete', () => {
    const r = request(exact(0.04));
    ledger.reserve(r);
    expect(() => db.prepare('UPDATE ledger SET reserved_micros = 1 WHERE request_id = ?').run(r.requestId)).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE ledger SET provider = 'fal' WHERE request_id = ?").run(r.requestId)).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM ledger WHERE request_id = ?').run(r.requestId)).toThrow(/append-only: rows cannot be deleted/);
    ledger.settle(r.requestId, billed(0.03));
    // Settled is final: neither the status nor the actual can change afterwards.
    expect(() => db.prepare("UPDATE ledger SET status = 'released', finished_at = 1 WHERE request_id = ?").run(r.requestId)).toThrow(/append-only/);
    expect(() => db.prepare('UPDATE ledger SET actual_micros = 1 WHERE request_id = ?').run(r.requestId)).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM ledger').run()).toThrow(/append-only/);
    expect(ledger.get(r.requestId)).toMatchObject({ status: 'settled', actualMicros: 30_000, reservedMicros: 40_000 });
  });
});

describe('budgets', () => {
  it('blocks at the hard limit with the remaining amount, and warns past the soft limit', () => {
    ledger.budgets.set({ scope: 'provider', scopeValue: 'openai', period: 'month', softMicros: 100_000, hardMicros: 150_000 });
    const first = ledger.reserve(request(exact(0.08)));
    expect(first.warnings).toEqual([]);
    const second = ledger.reserve(request(exact(0.04)));
    expect(second.warnings).toHaveLength(1);
    expect(second.warnings[0]?.message).toMatch(/monthly openai soft limit of \$0\.100: \$0\.120 spent or reserved this month/);
    const blocked = thrown(() => ledger.reserve(request(exact(0.04))));
    expect(blocked.code).toBe('budget_exceeded');
    expect(blocked.message).toBe(
      'This request may cost up to $0.040, which would pass the monthly openai hard limit of $0.150: $0.120 is already spent or reserved this month, $0.030 remains.',
    );
    expect(blocked.hint).toMatch(/resets at 2025-07-01 00:00 \(UTC\)/);
    // Another provider is not under the openai budget.
    expect(ledger.reserve(request(exact(0.04), { provider: 'fal', model: 'flux-schnell' })).entry.status).toBe('reserved');
  });

  it('applies project budgets to that project only, and global budgets to all', () => {
    ledger.budgets.set({ scope: 'project', scopeValue: 'poster', period: 'week', hardMicros: 50_000 });
    ledger.budgets.set({ scope: 'global', period: 'week', hardMicros: 120_000 });
    ledger.reserve(request(exact(0.04), { project: 'poster' }));
    expect(() => ledger.reserve(request(exact(0.02), { project: 'poster' }))).toThrow(/weekly project "poster" hard limit/);
    ledger.reserve(request(exact(0.04), { project: 'book' }));
    ledger.reserve(request(exact(0.04)));
    expect(() => ledger.reserve(request(exact(0.01), { project: 'book' }))).toThrow(/overall weekly hard limit of \$0\.120/);
    const usage = ledger.budgets.usage();
    expect(usage.map((u) => [u.budget.scope, u.usedMicros, u.remainingMicros])).toEqual([
      ['global', 120_000, 0],
      ['project', 40_000, 10_000],
    ]);
  });

  it('resets a daily budget at local midnight across the time-zone boundary', () => {
    const ny = new SpendLedger(db, { timeZone: 'America/New_York', now: () => clock });
    ny.budgets.set({ scope: 'global', period: 'day', hardMicros: 1_000_000 });
    clock = Date.parse('2025-03-10T03:30:00Z'); // 23:30 on Sunday 9 March in New York
    ny.reserve(request(exact(0.9)));
    clock = Date.parse('2025-03-10T03:59:59Z'); // still 9 March there, although 10 March in UTC
    const blocked = thrown(() => ny.reserve(request(exact(0.2))));
    expect(blocked.message).toMatch(/\$0\.900 is already spent or reserved today, \$0\.100 remains/);
    expect(blocked.hint).toMatch(/resets at 2025-03-10 00:00 \(America\/New_York\)/);
    clock = Date.parse('2025-03-10T04:00:00Z'); // local midnight
    expect(ny.reserve(request(exact(0.9))).entry.status).toBe('reserved');
    // The same rows under a UTC budget both fall on 10 March.
    const utc = new SpendLedger(db, { timeZone: 'UTC', now: () => clock });
    expect(utc.budgets.usage()[0]?.usedMicros).toBe(1_800_000);
  });

  it('rejects a budget without limits and an unknown time zone', () => {
    expect(thrown(() => ledger.budgets.set({ scope: 'global', period: 'day' })).code).toBe('invalid_input');
    expect(thrown(() => ledger.budgets.set({ scope: 'provider', period: 'day', hardMicros: 1 })).message).toMatch(/needs a provider name/);
    expect(thrown(() => new SpendLedger(db, { timeZone: 'Nowhere/Special' })).code).toBe('invalid_input');
  });
});

describe('stale reservations', () => {
  it('lists reservations left without an outcome so they can be reconciled', () => {
    const old = request(exact(0.04));
    ledger.reserve(old);
    clock += 20 * 60_000;
    const recent = request(exact(0.04));
    ledger.reserve(recent);
    expect(ledger.listStale(15 * 60_000).map((e) => e.requestId)).toEqual([old.requestId]);
    ledger.release(old.requestId, 'reconciled: never sent');
    expect(ledger.listStale(15 * 60_000)).toEqual([]);
  });
});
