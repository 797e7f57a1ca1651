import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LOST_WHILE_RESERVING } from '../../../src/core/spend/studio-pg.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { counted, openSeat, renderLoop, studioRows, watchSpend, type Seat, type SeatTally } from './studio-helpers.js';

const skip = postgresSkipReason();
const SEATS = 16;
const JOBS_PER_SEAT = 200;
const STUDIO = 'studio-race';

/**
 * Every reservation a seat was granted is in PostgreSQL exactly once, with the outcome the seat gave
 * it. The only other rows allowed are reservations whose COMMIT raced the shutdown and that the seat
 * refused and released.
 */
async function expectLedgerMatches(url: string, tallies: SeatTally[]) {
  const rows = await studioRows(url, STUDIO);
  const granted = tallies.flatMap((t) => t.reserved);
  expect(new Set(rows.map((r) => r.request_id)).size).toBe(rows.length);
  const grantedIds = new Set(granted.map((a) => a.requestId));
  const extra = rows.filter((r) => !grantedIds.has(r.request_id));
  expect(extra.every((r) => r.status === 'released' && r.note === LOST_WHILE_RESERVING)).toBe(true);
  expect(rows.length - extra.length).toBe(granted.length);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  for (const attempt of granted) {
    const row = byId.get(attempt.requestId);
    expect(row, attempt.requestId).toBeDefined();
    expect([row?.status, row?.reserved_micros, row?.actual_micros]).toEqual([attempt.outcome, attempt.reservedMicros, attempt.actualMicros]);
  }
  return rows;
}

describe.skipIf(skip !== null)(`${SEATS} seats racing for one studio cap on a real PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PostgresServer;
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

  async function studio(name: string, policy: Parameters<Seat['ledger']['setPolicy']>[0]): Promise<{ url: string; all: Seat[] }> {
    const url = await server.createDatabase(name);
    const all = Array.from({ length: SEATS }, (_, i) => openSeat(url, STUDIO, `seat${i}`, `member${i % 4}`));
    seats.push(...all);
    await all[0]?.ledger.setPolicy(policy);
    // Every seat reads the policy once, as the app does at start-up; the offline rule needs it cached.
    await Promise.all(all.map((s) => s.ledger.policy()));
    return { url, all };
  }

  it('never lets the studio overshoot its cap, and loses or duplicates no row', async () => {
    const cap = 15_000_000; // $15 against ~$38 of demand
    const { url, all } = await studio('race_online', { studioMonthlyCapMicros: cap });
    const watch = watchSpend(url, STUDIO);
    const tallies = await Promise.all(all.map((s, i) => renderLoop(s, i, JOBS_PER_SEAT)));
    const highest = await watch.stop();

    const rows = await expectLedgerMatches(url, tallies);
    const total = rows.reduce((sum, r) => sum + counted(r), 0);
    expect(highest).toBeLessThanOrEqual(cap);
    expect(total).toBeLessThanOrEqual(cap);
    // The cap really was the limit: many seats were refused, and the studio ended close to it.
    const blocked = tallies.reduce((s, t) => s + t.blocked, 0);
    expect(blocked).toBeGreaterThan(500);
    expect(total).toBeGreaterThan(cap * 0.9);
    expect(rows.length + blocked).toBe(SEATS * JOBS_PER_SEAT);
    expect(rows.every((r) => r.origin === 'online')).toBe(true);
    expect(rows.every((r) => r.status !== 'reserved')).toBe(true);
  }, 90_000);

  it('holds with the database stopped and restarted mid-run: the offline allowance applies, and the outbox syncs exactly once', async () => {
    const cap = 15_000_000;
    const allowance = 50_000; // about four renders per seat while the database is away
    const { url, all } = await studio('race_restart', { studioMonthlyCapMicros: cap, offlineRule: 'allowance', offlineAllowanceMicros: allowance });
    const watch = watchSpend(url, STUDIO);
    let attempts = 0;
    let outage: Promise<void> | null = null;
    const onAttempt = () => {
      attempts += 1;
      if (attempts === Math.floor((SEATS * JOBS_PER_SEAT) / 4) && !outage) {
        outage = (async () => {
          await server.stop();
          await new Promise((r) => setTimeout(r, 400));
          await server.start();
        })();
      }
    };
    const tallies = await Promise.all(all.map((s, i) => renderLoop(s, i, JOBS_PER_SEAT, { paceMs: 1, onAttempt })));
    await outage;
    // Seats whose last renders were offline push them now, as their sync timer would.
    await Promise.all(all.map((s) => s.ledger.sync()));
    const highest = await watch.stop();

    const rows = await expectLedgerMatches(url, tallies);
    expect(all.every((s) => s.ledger.pendingOutbox().length === 0)).toBe(true);
    const offline = tallies.flatMap((t) => t.reserved.filter((a) => a.mode === 'offline'));
    expect(offline.length).toBeGreaterThan(0);
    expect(tallies.reduce((s, t) => s + t.blockedOffline, 0)).toBeGreaterThan(0);
    for (let i = 0; i < SEATS; i += 1) {
      const spentOffline = rows.filter((r) => r.seat === `seat${i}` && r.origin === 'offline').reduce((sum, r) => sum + counted(r), 0);
      expect(spentOffline).toBeLessThanOrEqual(allowance);
    }
    // Offline spend is the one thing the cap cannot see in time; the policy bounds it per seat.
    const total = rows.reduce((sum, r) => sum + counted(r), 0);
    expect(total).toBeLessThanOrEqual(cap + SEATS * allowance);
    expect(highest).toBeLessThanOrEqual(cap + SEATS * allowance);

    // Syncing again sends nothing and changes nothing.
    expect((await Promise.all(all.map((s) => s.ledger.sync()))).reduce((a, b) => a + b, 0)).toBe(0);
    expect((await studioRows(url, STUDIO)).length).toBe(rows.length);
  }, 90_000);
});
