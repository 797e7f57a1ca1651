import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CostEstimate } from '../../../src/contract/money.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { SpendLedger } from '../../../src/core/spend/ledger.js';
import { ledgerCsv, spendTotals } from '../../../src/core/spend/spend-report.js';
import { makeTempDir } from '../../helpers/tmp.js';

const exact = (usd: number): CostEstimate => ({ kind: 'exact', usd, basis: 'per image' });

let db: SqliteDatabase;
let cleanup: () => void;

beforeAll(() => {
  const tmp = makeTempDir('imagebench-report-');
  cleanup = tmp.cleanup;
  db = openDatabase(tmp.dir);
  let clock = 0;
  const ledger = new SpendLedger(db, { timeZone: 'UTC', now: () => clock });
  const rows: Array<[string, string, string, string | undefined, number, 'settle' | 'release' | 'open', number]> = [
    // [request, time, provider, project, reserve usd, outcome, actual usd]
    ['a', '2025-06-01T10:00:00Z', 'openai', 'poster', 0.167, 'settle', 0.042],
    ['b', '2025-06-01T23:30:00Z', 'openai', 'poster', 0.04, 'settle', 0.04],
    ['c', '2025-06-02T01:00:00Z', 'fal', undefined, 0.003, 'settle', 0.003],
    ['d', '2025-06-02T02:00:00Z', 'fal', 'book', 0.05, 'release', 0],
    ['e', '2025-06-02T03:00:00Z', 'replicate', '=HYPERLINK("x")', 0.02, 'open', 0],
  ];
  for (const [id, time, provider, project, reserve, outcome, actual] of rows) {
    clock = Date.parse(time);
    ledger.reserve({ requestId: id, provider, model: provider === 'openai' ? 'gpt-image-1' : 'flux-schnell', project, member: 'ana, the designer', estimate: exact(reserve) });
    clock += 5_000;
    if (outcome === 'settle') ledger.settle(id, { usd: actual, source: 'provider-reported', basis: 'usage' });
    if (outcome === 'release') ledger.release(id, 'provider error "500"');
  }
});
afterAll(() => {
  db.close();
  cleanup();
});

describe('spend totals', () => {
  it('groups by provider, billed and still reserved apart, released not counted', () => {
    expect(spendTotals(db, { by: 'provider', timeZone: 'UTC' })).toEqual([
      { key: 'openai', billedMicros: 82_000, reservedMicros: 0, requests: 2 },
      { key: 'replicate', billedMicros: 0, reservedMicros: 20_000, requests: 1 },
      { key: 'fal', billedMicros: 3_000, reservedMicros: 0, requests: 1 },
    ]);
  });

  it('groups by model and by project', () => {
    expect(spendTotals(db, { by: 'model', timeZone: 'UTC' }).map((t) => t.key)).toEqual(['openai:gpt-image-1', 'replicate:flux-schnell', 'fal:flux-schnell']);
    expect(spendTotals(db, { by: 'project', timeZone: 'UTC' }).map((t) => [t.key, t.billedMicros + t.reservedMicros])).toEqual([
      ['poster', 82_000],
      ['=HYPERLINK("x")', 20_000],
      ['', 3_000],
      ['book', 0],
    ]);
  });

  it('groups by the user\'s calendar day and honours since', () => {
    expect(spendTotals(db, { by: 'day', timeZone: 'UTC' }).map((t) => [t.key, t.billedMicros])).toEqual([
      ['2025-06-01', 82_000],
      ['2025-06-02', 3_000],
    ]);
    // In Tokyo (UTC+9) the 23:30Z row is already 2 June, and the 10:00Z row is 1 June 19:00.
    expect(spendTotals(db, { by: 'day', timeZone: 'Asia/Tokyo' }).map((t) => [t.key, t.billedMicros])).toEqual([
      ['2025-06-01', 42_000],
      ['2025-06-02', 43_000],
    ]);
    expect(spendTotals(db, { by: 'provider', timeZone: 'UTC', since: Date.parse('2025-06-02T00:00:00Z') }).map((t) => t.key)).toEqual(['replicate', 'fal']);
  });
});

describe('CSV export', () => {
  it('writes one quoted row per ledger row with exact USD amounts', () => {
    const csv = ledgerCsv(db);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,request_id,status,created_at,finished_at,provider,model,project,member,currency,estimate_kind,estimate_min_usd,estimate_max_usd,reserved_usd,actual_usd,actual_source,note,image_ids',
    );
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe(
      '1,a,settled,2025-06-01T10:00:00.000Z,2025-06-01T10:00:05.000Z,openai,gpt-image-1,poster,"ana, the designer",USD,exact,0.167000,0.167000,0.167000,0.042000,provider-reported,,',
    );
    expect(lines[4]).toContain(',released,');
    expect(lines[4]).toContain(',"provider error ""500""",');
    // A project name a spreadsheet would execute is defused.
    expect(lines[5]).toContain(`,"'=HYPERLINK(""x"")",`);
    expect(ledgerCsv(db, { since: Date.parse('2025-06-02T02:30:00Z') }).trimEnd().split('\r\n')).toHaveLength(2);
  });
});
