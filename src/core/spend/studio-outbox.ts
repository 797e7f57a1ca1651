import { AppError } from '../../contract/errors.js';
import { sqliteError, type SqliteDatabase } from '../db/sqlite.js';
import type { ReservationAmount, LedgerStatus, SpendRequest } from './spend-request.js';
import { usd } from './spend-request.js';
import { StudioPolicySchema, type StudioPolicy } from './studio-policy.js';

export interface OutboxRow {
  request_id: string;
  studio_id: string;
  origin: 'offline' | 'online';
  member: string;
  seat: string;
  provider: string | null;
  model: string | null;
  project: string | null;
  estimate_kind: string | null;
  estimate_min_micros: number | null;
  estimate_max_micros: number | null;
  estimate_basis: string | null;
  reserved_micros: number | null;
  status: LedgerStatus;
  actual_micros: number | null;
  actual_source: string | null;
  actual_basis: string | null;
  note: string | null;
  created_at: number;
  finished_at: number | null;
  synced_status: LedgerStatus | null;
}

export interface Outcome {
  status: Exclude<LedgerStatus, 'reserved'>;
  actualMicros: number | null;
  actualSource: string | null;
  actualBasis: string | null;
  note: string | null;
}

/** What this seat may count against while offline: reservations PostgreSQL has not seen yet. */
const UNSYNCED_OFFLINE_MICROS = `
  SELECT COALESCE(SUM(CASE status WHEN 'reserved' THEN reserved_micros WHEN 'released' THEN 0 ELSE actual_micros END), 0) AS used
  FROM studio_outbox WHERE studio_id = ? AND seat = ? AND origin = 'offline' AND synced_status IS NULL`;

/**
 * This seat's local record of studio spend PostgreSQL has not seen yet, in the app's SQLite file:
 * reservations made offline against the per-seat allowance, and outcomes (settle, release) of any
 * reservation that could not be written to PostgreSQL. A row is pending until `synced_status`
 * equals its `status`; the last policy read is cached here too, so the offline rule is known offline.
 */
export class StudioOutbox {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly studioId: string,
    private readonly seat: string,
    private readonly now: () => number,
  ) {}

  cachedPolicy(): StudioPolicy | null {
    const row = this.db.prepare('SELECT policy FROM studio_policy_cache WHERE studio_id = ?').get(this.studioId) as { policy: string } | undefined;
    if (!row) return null;
    const parsed = StudioPolicySchema.safeParse(JSON.parse(row.policy));
    return parsed.success ? parsed.data : null;
  }

  cachePolicy(policy: StudioPolicy): void {
    this.db
      .prepare('INSERT INTO studio_policy_cache (studio_id, policy, fetched_at) VALUES (?, ?, ?) ON CONFLICT (studio_id) DO UPDATE SET policy = excluded.policy, fetched_at = excluded.fetched_at')
      .run(this.studioId, JSON.stringify(policy), this.now());
  }

  /** Reserves against the seat allowance: check and insert in one write transaction. */
  reserveOffline(request: SpendRequest, member: string, amount: ReservationAmount, allowanceMicros: number): void {
    this.write('reserve offline', () => {
      if (this.find(request.requestId)) return;
      const used = (this.db.prepare(UNSYNCED_OFFLINE_MICROS).get(this.studioId, this.seat) as { used: number }).used;
      if (used + amount.reservedMicros > allowanceMicros) {
        throw new AppError(
          'budget_exceeded',
          `The studio database is unreachable, and this request (up to ${usd(amount.reservedMicros)}) would pass this seat's offline allowance: ` +
            `${usd(used)} of ${usd(allowanceMicros)} is already used, ${usd(Math.max(0, allowanceMicros - used))} remains.`,
          { hint: 'Local previews keep working. The allowance is restored once the studio database is back and this seat has synced.', retryable: true },
        );
      }
      this.db
        .prepare(
          `INSERT INTO studio_outbox (request_id, studio_id, origin, member, seat, provider, model, project, estimate_kind, estimate_min_micros,
             estimate_max_micros, estimate_basis, reserved_micros, status, created_at)
           VALUES (?, ?, 'offline', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved', ?)`,
        )
        .run(
          request.requestId, this.studioId, member, this.seat, request.provider, request.model, request.project ?? null, amount.estimate.kind,
          amount.estimate.minMicros, amount.estimate.maxMicros, amount.estimate.basis, amount.reservedMicros, this.now(),
        );
    });
  }

  /**
   * Records an outcome locally. For a row already here it is a guarded transition (a repeat is a
   * no-op); for an online reservation it queues the outcome for PostgreSQL, which has the row as
   * reserved. Returns false when nothing changed.
   */
  recordOutcome(requestId: string, member: string, outcome: Outcome): boolean {
    return this.write('record the outcome offline', () => {
      const row = this.find(requestId);
      if (!row) {
        this.db
          .prepare(
            `INSERT INTO studio_outbox (request_id, studio_id, origin, member, seat, status, actual_micros, actual_source, actual_basis, note, created_at, finished_at, synced_status)
             VALUES (?, ?, 'online', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'reserved')`,
          )
          .run(requestId, this.studioId, member, this.seat, outcome.status, outcome.actualMicros, outcome.actualSource, outcome.actualBasis, outcome.note, this.now(), this.now());
        return true;
      }
      if (row.status === outcome.status) return false;
      if (row.status !== 'reserved') throw new AppError('invalid_input', `Request ${requestId} is already ${row.status}; it cannot become ${outcome.status}.`);
      this.db
        .prepare(`UPDATE studio_outbox SET status = ?, actual_micros = ?, actual_source = ?, actual_basis = ?, note = ?, finished_at = ? WHERE request_id = ? AND status = 'reserved'`)
        .run(outcome.status, outcome.actualMicros, outcome.actualSource, outcome.actualBasis, outcome.note, this.now(), requestId);
      return true;
    });
  }

  find(requestId: string): OutboxRow | null {
    return (this.db.prepare('SELECT * FROM studio_outbox WHERE request_id = ?').get(requestId) as OutboxRow | undefined) ?? null;
  }

  /** Rows PostgreSQL does not have in their current state, oldest first. */
  pending(): OutboxRow[] {
    return this.db.prepare('SELECT * FROM studio_outbox WHERE studio_id = ? AND synced_status IS NOT status ORDER BY created_at, request_id').all(this.studioId) as OutboxRow[];
  }

  hasPending(): boolean {
    return this.db.prepare('SELECT 1 FROM studio_outbox WHERE studio_id = ? AND synced_status IS NOT status LIMIT 1').get(this.studioId) !== undefined;
  }

  /** Only if the row still has the status that was pushed: an outcome recorded meanwhile stays pending. */
  markSynced(requestId: string, status: LedgerStatus): void {
    this.db.prepare('UPDATE studio_outbox SET synced_status = ?, synced_at = ? WHERE request_id = ? AND status = ?').run(status, this.now(), requestId, status);
  }

  offlineAllowanceUsed(): number {
    return (this.db.prepare(UNSYNCED_OFFLINE_MICROS).get(this.studioId, this.seat) as { used: number }).used;
  }

  private write<T>(doing: string, body: () => T): T {
    try {
      return this.db.transaction(body).immediate();
    } catch (error) {
      throw sqliteError(error, doing);
    }
  }
}
