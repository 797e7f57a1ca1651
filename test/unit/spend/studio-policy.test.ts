import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import type { CostEstimate } from '../../../src/contract/money.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { openSeat, studioRows, type Seat } from './studio-helpers.js';

const skip = postgresSkipReason();
const exact = (usd: number): CostEstimate => ({ kind: 'exact', usd, basis: 'per image' });
const billed = (usd: number) => ({ usd, source: 'provider-reported' as const, basis: 'usage' });

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe.skipIf(skip !== null)(`studio policy and ledger on a real PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PostgresServer;
  let databases = 0;
  const seats: Seat[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });
  afterEach(async () => {
    await Promise.all(seats.splice(0).map((s) => s.close()));
  });

  async function studio(): Promise<string> {
    databases += 1;
    return server.createDatabase(`policy_${databases}`);
  }
  function seat(url: string, name: string, member = name): Seat {
    const s = openSeat(url, 'studio-a', name, member);
    seats.push(s);
    return s;
  }

  it('creates its schema exactly once when sixteen seats start together', async () => {
    const url = await studio();
    const all = Array.from({ length: 16 }, (_, i) => seat(url, `seat${i}`));
    await Promise.all(all.map((s) => s.ledger.migrate()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const versions = await client.query('SELECT version FROM imagebench.schema_migrations');
    await client.end();
    expect(versions.rows).toEqual([{ version: 1 }]);
  });

  it('enforces allowed providers and models, price per image, member limits and the studio cap', async () => {
    const url = await studio();
    const ana = seat(url, 'ana-laptop', 'ana');
    const ben = seat(url, 'ben-desktop', 'ben');
    await ana.ledger.setPolicy({
      allowedProviders: ['openai', 'fal'],
      allowedModels: ['openai:gpt-image-1', 'fal:fal-ai/flux/schnell'],
      maxPricePerImageMicros: 100_000,
      memberMonthlyLimits: { ana: 50_000 },
      memberMonthlyLimitMicros: 200_000,
      studioMonthlyCapMicros: 120_000,
    });
    const reserve = (s: Seat, id: string, usd: number, extra: object = {}) =>
      s.ledger.reserve({ requestId: id, provider: 'openai', model: 'gpt-image-1', estimate: exact(usd), ...extra });

    const provider = await rejection(reserve(ana, 'p1', 0.01, { provider: 'stability', model: 'ultra' }));
    expect([provider.code, provider.message]).toEqual(['invalid_input', 'The studio policy does not allow stability (allowed: openai, fal).']);
    expect((await rejection(reserve(ana, 'p2', 0.01, { model: 'dall-e-3' }))).message).toBe('The studio policy does not allow openai:dall-e-3.');
    const price = await rejection(reserve(ana, 'p3', 0.3, { images: 2 }));
    expect([price.code, price.message]).toEqual(['budget_exceeded', 'This request may cost up to $0.150 per image; the studio allows at most $0.100.']);

    expect(await reserve(ana, 'a1', 0.04)).toMatchObject({ mode: 'online', reservedMicros: 40_000, alreadyReserved: false });
    const member = await rejection(reserve(ana, 'a2', 0.02));
    expect(member.message).toBe('This request may cost up to $0.020, but ana has $0.010 left of a $0.050 monthly limit.');
    // Ben is under the default member limit; together they reach the studio cap.
    await reserve(ben, 'b1', 0.07);
    const cap = await rejection(reserve(ben, 'b2', 0.02));
    expect([cap.code, cap.message]).toEqual(['budget_exceeded', 'This request may cost up to $0.020, but the studio has $0.010 left of its $0.120 monthly cap.']);
    // Settling below the reservation gives the difference back.
    await ben.ledger.settle('b1', billed(0.05));
    expect((await reserve(ben, 'b3', 0.02)).mode).toBe('online');
  });

  it('is idempotent on the request id and keeps one outcome per row', async () => {
    const url = await studio();
    const ana = seat(url, 'ana-laptop', 'ana');
    await ana.ledger.setPolicy({ studioMonthlyCapMicros: 1_000_000 });
    const request = { requestId: 'job-1', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.04) };
    await ana.ledger.reserve(request);
    expect(await ana.ledger.reserve(request)).toMatchObject({ alreadyReserved: true, status: 'reserved' });
    expect(await ana.ledger.settle('job-1', billed(0.03))).toMatchObject({ changed: true, mode: 'online' });
    expect(await ana.ledger.settle('job-1', billed(0.03))).toMatchObject({ changed: false });
    expect((await rejection(ana.ledger.release('job-1', 'late'))).message).toMatch(/already settled; it cannot become released/);
    // A retried reservation learns the job is done instead of holding money again.
    expect(await ana.ledger.reserve(request)).toMatchObject({ alreadyReserved: true, status: 'settled' });
    expect((await rejection(ana.ledger.settle('nope', billed(0.01)))).code).toBe('not_found');
    const rows = await studioRows(url, 'studio-a');
    expect(rows.map((r) => [r.request_id, r.status, r.actual_micros])).toEqual([['job-1', 'settled', 30_000]]);
  });

  it('keeps the shared ledger append-only in PostgreSQL too', async () => {
    const url = await studio();
    const ana = seat(url, 'ana-laptop', 'ana');
    await ana.ledger.setPolicy({});
    await ana.ledger.reserve({ requestId: 'job-1', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.04) });
    await ana.ledger.settle('job-1', billed(0.04));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await expect(client.query('UPDATE imagebench.ledger SET actual_micros = 1')).rejects.toThrow(/append-only/);
      await expect(client.query("UPDATE imagebench.ledger SET status = 'released'")).rejects.toThrow(/append-only/);
      await expect(client.query('DELETE FROM imagebench.ledger')).rejects.toThrow(/append-only: rows cannot be deleted/);
      await expect(client.query('TRUNCATE imagebench.ledger')).rejects.toThrow(/append-only/);
    } finally {
      await client.end();
    }
  });

  it('lists this seat\'s reservations left open by a crash', async () => {
    const url = await studio();
    const ana = seat(url, 'ana-laptop', 'ana');
    await ana.ledger.setPolicy({});
    await ana.ledger.reserve({ requestId: 'crashed', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.04) });
    await new Promise((r) => setTimeout(r, 20));
    expect(await ana.ledger.staleReservations(10)).toEqual(['crashed']);
    expect(await ana.ledger.staleReservations(60_000)).toEqual([]);
  });

  it('blocks paid renders while offline under the block rule, saying so', async () => {
    const url = await studio();
    const ana = seat(url, 'ana-laptop', 'ana');
    await ana.ledger.setPolicy({ offlineRule: 'block' });
    await server.stop();
    try {
      const blocked = await rejection(ana.ledger.reserve({ requestId: 'offline-1', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.04) }));
      expect(blocked.code).toBe('network');
      expect(blocked.retryable).toBe(true);
      expect(blocked.message).toBe(`The studio database (127.0.0.1:${server.port}/${url.split('/').pop()}) is unreachable, and the studio policy blocks paid renders while offline.`);
      expect(blocked.hint).toMatch(/Local previews keep working/);
      // A seat that never reached the database knows no policy, so it cannot spend at all.
      const stranger = seat(url, 'new-seat', 'cy');
      expect((await rejection(stranger.ledger.reserve({ requestId: 'x', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.01) }))).message).toMatch(
        /has not read the studio policy yet/,
      );
      // Nothing was queued, so syncing needs no database.
      expect(await ana.ledger.sync()).toBe(0);
    } finally {
      await server.start();
    }
    expect(await studioRows(url, 'studio-a')).toEqual([]);
  });

  it('syncs offline spend exactly once, even if the seat crashed after PostgreSQL committed', async () => {
    const url = await studio();
    const ana = seat(url, 'ana-laptop', 'ana');
    await ana.ledger.setPolicy({ offlineRule: 'allowance', offlineAllowanceMicros: 50_000 });
    await ana.ledger.reserve({ requestId: 'online-1', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.02) });
    await server.stop();
    try {
      expect((await ana.ledger.reserve({ requestId: 'offline-1', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.03) })).mode).toBe('offline');
      await ana.ledger.settle('offline-1', billed(0.025));
      expect(await ana.ledger.settle('online-1', billed(0.015))).toMatchObject({ mode: 'offline', changed: true });
      const over = await rejection(ana.ledger.reserve({ requestId: 'offline-2', provider: 'openai', model: 'gpt-image-1', estimate: exact(0.03) }));
      expect(over.message).toMatch(/this seat's offline allowance: \$0\.025 of \$0\.050 is already used, \$0\.025 remains/);
      expect(ana.ledger.offlineAllowanceUsedMicros()).toBe(25_000);
    } finally {
      await server.start();
    }
    expect(await ana.ledger.sync()).toBe(2);
    expect(ana.ledger.pendingOutbox()).toEqual([]);
    expect(ana.ledger.offlineAllowanceUsedMicros()).toBe(0);
    // The seat dies after PostgreSQL committed but before it marked its outbox: it pushes again.
    ana.local.prepare('UPDATE studio_outbox SET synced_status = NULL, synced_at = NULL').run();
    expect(await ana.ledger.sync()).toBe(2);
    expect(await ana.ledger.sync()).toBe(0);
    const rows = await studioRows(url, 'studio-a');
    expect(rows.map((r) => [r.request_id, r.origin, r.status, r.reserved_micros, r.actual_micros])).toEqual([
      ['online-1', 'online', 'settled', 20_000, 15_000],
      ['offline-1', 'offline', 'settled', 30_000, 25_000],
    ]);
  });
});
