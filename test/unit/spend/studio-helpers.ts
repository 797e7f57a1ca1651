import pg from 'pg';
import { AppError } from '../../../src/contract/errors.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { StudioLedger } from '../../../src/core/spend/studio-pg.js';
import { makeTempDir } from '../../helpers/tmp.js';

/** One studio seat: its own local SQLite file (outbox, cached policy) and its own connection pool. */
export interface Seat {
  ledger: StudioLedger;
  local: SqliteDatabase;
  close(): Promise<void>;
}

export function openSeat(url: string, studioId: string, name: string, member = name): Seat {
  const { dir, cleanup } = makeTempDir('imagebench-seat-');
  const local = openDatabase(dir);
  const ledger = new StudioLedger({ url, studioId, member, seat: name, local, connectTimeoutMs: 1000 });
  return {
    ledger,
    local,
    async close() {
      await ledger.close();
      local.close();
      cleanup();
    },
  };
}

export interface Attempt {
  requestId: string;
  reservedMicros: number;
  mode: 'online' | 'offline';
  outcome: 'settled' | 'released';
  actualMicros: number | null;
}

export interface SeatTally {
  reserved: Attempt[];
  blocked: number;
  blockedOffline: number;
}

/**
 * A seat rendering `count` paid images as fast as it can: reserve $0.010–$0.014, then release one
 * in ten (a provider error) and settle the rest at 60–100% of the reservation.
 */
export async function renderLoop(seat: Seat, seatIndex: number, count: number, options: { paceMs?: number; onAttempt?: () => void } = {}): Promise<SeatTally> {
  const tally: SeatTally = { reserved: [], blocked: 0, blockedOffline: 0 };
  for (let i = 0; i < count; i += 1) {
    const requestId = `seat${seatIndex}-job${i}`;
    const micros = 10_000 + ((seatIndex * 7 + i * 13) % 5) * 1000;
    try {
      const r = await seat.ledger.reserve({ requestId, provider: 'openai', model: 'gpt-image-1', estimate: { kind: 'exact', usd: micros / 1e6, basis: 'per image' } });
      if (i % 10 === 3) {
        await seat.ledger.release(requestId, 'provider returned 500');
        tally.reserved.push({ requestId, reservedMicros: micros, mode: r.mode, outcome: 'released', actualMicros: null });
      } else {
        const actual = Math.round(micros * (0.6 + 0.1 * (i % 5)));
        await seat.ledger.settle(requestId, { usd: actual / 1e6, source: 'provider-reported', basis: 'usage' });
        tally.reserved.push({ requestId, reservedMicros: micros, mode: r.mode, outcome: 'settled', actualMicros: actual });
      }
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'budget_exceeded') throw error;
      if (/offline allowance/.test(error.message)) tally.blockedOffline += 1;
      else tally.blocked += 1;
    }
    options.onAttempt?.();
    if (options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs));
  }
  return tally;
}

/** Polls the studio's committed spend while seats race, remembering the highest value seen. */
export function watchSpend(url: string, studioId: string): { stop(): Promise<number> } {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        while (running) {
          const { rows } = await client.query<{ used: string }>(
            `SELECT COALESCE(SUM(CASE status WHEN 'reserved' THEN reserved_micros WHEN 'released' THEN 0 ELSE actual_micros END), 0) AS used
             FROM imagebench.ledger WHERE studio_id = $1`,
            [studioId],
          );
          max = Math.max(max, Number(rows[0]?.used ?? 0));
          await new Promise((r) => setTimeout(r, 5));
        }
      } catch {
        // The server is down for part of the restart test: wait and reconnect.
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return max;
    },
  };
}

export interface StudioRow {
  request_id: string;
  status: string;
  origin: string;
  seat: string;
  reserved_micros: number;
  actual_micros: number | null;
  note: string | null;
}

export async function studioRows(url: string, studioId: string): Promise<StudioRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<StudioRow>(
      `SELECT request_id, status, origin, seat, reserved_micros::float8 AS reserved_micros, actual_micros::float8 AS actual_micros, note
       FROM imagebench.ledger WHERE studio_id = $1 ORDER BY id`,
      [studioId],
    );
    return rows;
  } finally {
    await client.end();
  }
}

export const counted = (row: { status: string; reserved_micros: number; actual_micros: number | null }): number =>
  row.status === 'reserved' ? row.reserved_micros : row.status === 'released' ? 0 : (row.actual_micros ?? 0);
