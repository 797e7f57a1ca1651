import { AppError } from '../../contract/errors.js';
import type { ActualCost } from '../../contract/money.js';
import type { SqliteDatabase } from '../db/sqlite.js';
import { DEFAULT_STALE_AFTER_MS } from './ledger.js';
import { periodStart } from './periods.js';
import { actualMicros, reservationAmount, type LedgerStatus, type ReservationAmount, type SpendRequest } from './spend-request.js';
import { StudioOutbox, type Outcome, type OutboxRow } from './studio-outbox.js';
import { checkMonthlyLimits, checkPolicyRules, policyFromRow, writePolicy, type PolicyRow, type StudioPolicy, type StudioPolicyInput } from './studio-policy.js';
import { migrateStudioSchema } from './studio-schema.js';
import { StudioConnection, type StudioConnectionOptions } from './studio-connection.js';
import { isUnreachable, Unreachable } from './studio-pg-errors.js';

export interface StudioLedgerOptions extends StudioConnectionOptions {
  studioId: string;
  /** Who is spending (per-member limits). */
  member: string;
  /** This installation (the offline allowance is per seat). */
  seat: string;
  /** The app's SQLite database: the outbox and the cached policy live there. */
  local: SqliteDatabase;
  now?: () => number;
}

export interface StudioReservation {
  requestId: string;
  reservedMicros: number;
  /** `offline`: PostgreSQL was unreachable and the seat allowance was used; it syncs later. */
  mode: 'online' | 'offline';
  /** True when this request id was reserved before; `status` then says what became of it. */
  alreadyReserved: boolean;
  status: LedgerStatus;
}

export interface StudioOutcome {
  requestId: string;
  changed: boolean;
  mode: 'online' | 'offline';
}

/** The note on a reservation released because the connection died while it was committing. */
export const LOST_WHILE_RESERVING = 'connection lost while reserving; released because its outcome was unknown';

const COUNTED = `CASE status WHEN 'reserved' THEN reserved_micros WHEN 'released' THEN 0 ELSE actual_micros END`;

/**
 * Studio mode: one policy and one ledger in PostgreSQL shared by every seat.
 *
 * Concurrency: a reservation locks the studio's policy row (`SELECT … FOR UPDATE`) and, holding it,
 * sums the month's spend, checks the cap and inserts. Every reservation of a studio contends for the
 * same cap anyway, so queueing them on one row lock is exactly the order they need; under READ
 * COMMITTED each statement after the lock sees every reservation committed before it, so no two seats
 * can spend the same headroom. SERIALIZABLE would also be correct, but with 16 seats racing it aborts
 * most of them with 40001 and turns the cap check into a retry storm; the lock costs one short wait.
 *
 * When PostgreSQL is unreachable the policy's offline rule applies: `block` refuses paid calls,
 * `allowance` lets this seat spend up to its allowance, recorded in a local SQLite outbox and pushed
 * when the database answers again — idempotent on the request id, so exactly once.
 */
export class StudioLedger {
  private readonly db: StudioConnection;
  private readonly outbox: StudioOutbox;
  private readonly now: () => number;
  private migrated = false;
  private syncing: Promise<number> | null = null;
  private cachedPolicyStamp: string | null = null;

  constructor(private readonly options: StudioLedgerOptions) {
    this.now = options.now ?? Date.now;
    this.db = new StudioConnection(options);
    this.outbox = new StudioOutbox(options.local, options.studioId, options.seat, this.now);
  }

  /** Creates or migrates the schema. Reservations call it lazily, so a seat can start offline. */
  async migrate(): Promise<void> {
    if (this.migrated) return;
    await this.db.withClient((client) => migrateStudioSchema(client));
    this.migrated = true;
  }

  /** An admin action: creates or replaces the studio's policy. */
  async setPolicy(input: StudioPolicyInput): Promise<StudioPolicy> {
    return this.db.online(async () => {
      await this.migrate();
      return this.remember(await this.db.withClient((client) => writePolicy(client, this.options.studioId, input)));
    });
  }

  async policy(): Promise<StudioPolicy> {
    return this.db.online(async () => {
      await this.migrate();
      const { rows } = await this.db.query<PolicyRow>('SELECT * FROM imagebench.studio_policy WHERE studio_id = $1', [this.options.studioId]);
      if (!rows[0]) throw this.noPolicy();
      return this.remember(policyFromRow(rows[0]));
    });
  }

  async reserve(request: SpendRequest): Promise<StudioReservation> {
    const amount = reservationAmount(request);
    const local = this.outbox.find(request.requestId);
    if (local?.origin === 'offline') return { requestId: request.requestId, reservedMicros: local.reserved_micros ?? 0, mode: 'offline', alreadyReserved: true, status: local.status };
    try {
      return await this.reserveOnline(request, amount);
    } catch (error) {
      const unreachable = error instanceof Unreachable ? error : isUnreachable(error) ? new Unreachable(error, false) : null;
      if (!unreachable) throw error;
      return this.reserveOffline(request, amount, unreachable);
    }
  }

  settle(requestId: string, actual: ActualCost): Promise<StudioOutcome> {
    return this.finish(requestId, { status: 'settled', actualMicros: actualMicros(actual), actualSource: actual.source, actualBasis: actual.basis, note: null });
  }

  failBilled(requestId: string, actual: ActualCost, reason: string): Promise<StudioOutcome> {
    return this.finish(requestId, { status: 'failed-billed', actualMicros: actualMicros(actual), actualSource: actual.source, actualBasis: actual.basis, note: reason });
  }

  release(requestId: string, reason: string): Promise<StudioOutcome> {
    return this.finish(requestId, { status: 'released', actualMicros: null, actualSource: null, actualBasis: null, note: reason });
  }

  /** Pushes the outbox to PostgreSQL; returns how many rows went. Throws `network` while unreachable. */
  async sync(): Promise<number> {
    return this.db.online(() => this.pushOnce());
  }

  pendingOutbox(): OutboxRow[] {
    return this.outbox.pending();
  }

  offlineAllowanceUsedMicros(): number {
    return this.outbox.offlineAllowanceUsed();
  }

  /** This seat's reservations still open in PostgreSQL after `olderThanMs`: left by a crash. */
  async staleReservations(olderThanMs: number = DEFAULT_STALE_AFTER_MS): Promise<string[]> {
    return this.db.online(async () => {
      const { rows } = await this.db.query<{ request_id: string }>(
        `SELECT request_id FROM imagebench.ledger WHERE studio_id = $1 AND seat = $2 AND status = 'reserved' AND created_at <= now() - make_interval(secs => $3) ORDER BY created_at`,
        [this.options.studioId, this.options.seat, olderThanMs / 1000],
      );
      return rows.map((r) => r.request_id);
    });
  }

  async close(): Promise<void> {
    await this.db.end();
  }

  private async reserveOnline(request: SpendRequest, amount: ReservationAmount): Promise<StudioReservation> {
    await this.migrate();
    // Spend made offline must be in PostgreSQL before this seat checks the cap again, and a queued
    // release must land before its request id can be reserved anew. A push already in flight may
    // predate the newest rows, hence the second pass.
    for (let pass = 0; pass < 2 && this.outbox.hasPending(); pass += 1) await this.pushOnce();
    const { studioId, member, seat } = this.options;
    return this.db.transaction(async (client) => {
      const locked = await client.query<PolicyRow & { db_now: Date }>('SELECT *, now() AS db_now FROM imagebench.studio_policy WHERE studio_id = $1 FOR UPDATE', [studioId]);
      const row = locked.rows[0];
      if (!row) throw this.noPolicy();
      const policy = this.remember(policyFromRow(row));
      // The database's clock decides the month, so seats with skewed clocks agree on it.
      const monthStart = new Date(periodStart('month', row.db_now.getTime(), policy.timeZone));
      // One round trip while the lock is held: the month's usage and any earlier row with this request id.
      const used = await client.query<{ studio: string; member: string; existing: { provider: string; model: string; reserved_micros: number; status: LedgerStatus } | null }>(
        `SELECT COALESCE(SUM(${COUNTED}), 0) AS studio, COALESCE(SUM(${COUNTED}) FILTER (WHERE member = $3), 0) AS member,
           (SELECT json_build_object('provider', provider, 'model', model, 'reserved_micros', reserved_micros, 'status', status)
            FROM imagebench.ledger WHERE request_id = $4) AS existing
         FROM imagebench.ledger WHERE studio_id = $1 AND created_at >= $2`,
        [studioId, monthStart, member, request.requestId],
      );
      const found = used.rows[0]?.existing;
      if (found) {
        if (found.provider !== request.provider || found.model !== request.model || found.reserved_micros !== amount.reservedMicros) {
          throw new AppError('invalid_input', `Request id ${request.requestId} was already used for a different request.`, { hint: 'Give every paid attempt its own request id.' });
        }
        return { requestId: request.requestId, reservedMicros: amount.reservedMicros, mode: 'online', alreadyReserved: true, status: found.status } as const;
      }
      checkPolicyRules(policy, request, amount.reservedMicros);
      const usage = { studioMicros: Number(used.rows[0]?.studio ?? 0), memberMicros: Number(used.rows[0]?.member ?? 0) };
      checkMonthlyLimits(policy, member, usage, amount.reservedMicros);
      await client.query(
        `INSERT INTO imagebench.ledger (studio_id, request_id, status, origin, member, seat, provider, model, project, estimate_kind,
           estimate_min_micros, estimate_max_micros, estimate_basis, reserved_micros, created_at)
         VALUES ($1, $2, 'reserved', 'online', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())`,
        [studioId, request.requestId, member, seat, request.provider, request.model, request.project ?? null, amount.estimate.kind,
          amount.estimate.minMicros, amount.estimate.maxMicros, amount.estimate.basis, amount.reservedMicros],
      );
      return { requestId: request.requestId, reservedMicros: amount.reservedMicros, mode: 'online', alreadyReserved: false, status: 'reserved' } as const;
    });
  }

  private reserveOffline(request: SpendRequest, amount: ReservationAmount, unreachable: Unreachable): StudioReservation {
    try {
      const policy = this.outbox.cachedPolicy();
      if (!policy) {
        throw new AppError('network', `The studio database (${this.db.where}) is unreachable, and this seat has not read the studio policy yet, so it cannot spend offline.`, {
          hint: 'Local previews keep working. Connect once to the studio database to load its policy.',
          retryable: true,
          cause: unreachable.cause,
        });
      }
      checkPolicyRules(policy, request, amount.reservedMicros);
      if (policy.offlineRule === 'block') {
        throw new AppError('network', `The studio database (${this.db.where}) is unreachable, and the studio policy blocks paid renders while offline.`, {
          hint: 'Local previews keep working. Paid finals resume when the database is back; your studio admin can allow a small offline allowance per seat.',
          retryable: true,
          cause: unreachable.cause,
        });
      }
      this.outbox.reserveOffline(request, this.options.member, amount, policy.offlineAllowanceMicros);
      return { requestId: request.requestId, reservedMicros: amount.reservedMicros, mode: 'offline', alreadyReserved: false, status: 'reserved' };
    } catch (error) {
      // The COMMIT may have reached the server before the connection died. The caller is told "no",
      // so queue a release: a reservation nobody will settle must not hold budget. If it never
      // committed, the release finds no row and changes nothing.
      if (unreachable.maybeCommitted) {
        this.outbox.recordOutcome(request.requestId, this.options.member, { status: 'released', actualMicros: null, actualSource: null, actualBasis: null, note: LOST_WHILE_RESERVING });
      }
      throw error;
    }
  }

  private async finish(requestId: string, outcome: Outcome): Promise<StudioOutcome> {
    const local = this.outbox.find(requestId);
    // A row PostgreSQL does not have in its latest state is finished locally and pushed in order.
    if (local && local.synced_status !== local.status) return { requestId, changed: this.outbox.recordOutcome(requestId, this.options.member, outcome), mode: 'offline' };
    if (local?.status === outcome.status) return { requestId, changed: false, mode: 'online' };
    try {
      return await this.finishOnline(requestId, outcome);
    } catch (error) {
      if (!isUnreachable(error) && !(error instanceof Unreachable)) throw error;
      return { requestId, changed: this.outbox.recordOutcome(requestId, this.options.member, outcome), mode: 'offline' };
    }
  }

  private async finishOnline(requestId: string, outcome: Outcome): Promise<StudioOutcome> {
    await this.migrate();
    const updated = await this.db.query(
      `UPDATE imagebench.ledger SET status = $3, actual_micros = $4, actual_source = $5, actual_basis = $6, note = $7, finished_at = now()
       WHERE studio_id = $1 AND request_id = $2 AND status = 'reserved'`,
      [this.options.studioId, requestId, outcome.status, outcome.actualMicros, outcome.actualSource, outcome.actualBasis, outcome.note],
    );
    if (updated.rowCount === 1) return { requestId, changed: true, mode: 'online' };
    const { rows } = await this.db.query<{ status: LedgerStatus }>('SELECT status FROM imagebench.ledger WHERE studio_id = $1 AND request_id = $2', [this.options.studioId, requestId]);
    const status = rows[0]?.status;
    if (!status) throw new AppError('not_found', `No reservation with request id ${requestId} is in the studio ledger.`, { hint: 'Reserve before a paid call; settle or release with the same request id.' });
    if (status === outcome.status) return { requestId, changed: false, mode: 'online' };
    throw new AppError('invalid_input', `Request ${requestId} is already ${status}; it cannot become ${outcome.status}.`);
  }

  /** Concurrent callers (a timer, a reservation) share one push instead of racing each other. */
  private pushOnce(): Promise<number> {
    this.syncing ??= this.pushOutbox().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  /** One transaction per row, each idempotent: a crash between PostgreSQL's commit and the local mark only repeats a no-op. */
  private async pushOutbox(): Promise<number> {
    const pending = this.outbox.pending();
    if (pending.length === 0) return 0;
    await this.migrate();
    let pushed = 0;
    for (const row of pending) {
      await this.db.transaction(async (client) => {
        if (row.origin === 'offline' && row.synced_status === null) {
          await client.query(
            `INSERT INTO imagebench.ledger (studio_id, request_id, status, origin, member, seat, provider, model, project, estimate_kind,
               estimate_min_micros, estimate_max_micros, estimate_basis, reserved_micros, created_at)
             VALUES ($1, $2, 'reserved', 'offline', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, to_timestamp($13::double precision / 1000))
             ON CONFLICT (request_id) DO NOTHING`,
            [row.studio_id, row.request_id, row.member, row.seat, row.provider, row.model, row.project, row.estimate_kind,
              row.estimate_min_micros, row.estimate_max_micros, row.estimate_basis, row.reserved_micros, row.created_at],
          );
        }
        if (row.status !== 'reserved') {
          await client.query(
            `UPDATE imagebench.ledger SET status = $3, actual_micros = $4, actual_source = $5, actual_basis = $6, note = $7,
               finished_at = to_timestamp($8::double precision / 1000)
             WHERE studio_id = $1 AND request_id = $2 AND status = 'reserved'`,
            [row.studio_id, row.request_id, row.status, row.actual_micros, row.actual_source, row.actual_basis, row.note, row.finished_at ?? this.now()],
          );
        }
      });
      this.outbox.markSynced(row.request_id, row.status);
      pushed += 1;
    }
    return pushed;
  }

  private remember(policy: StudioPolicy): StudioPolicy {
    if (policy.updatedAt !== this.cachedPolicyStamp) {
      this.outbox.cachePolicy(policy);
      this.cachedPolicyStamp = policy.updatedAt;
    }
    return policy;
  }

  private noPolicy(): AppError {
    return new AppError('not_found', `Studio "${this.options.studioId}" has no policy in the studio database (${this.db.where}).`, {
      hint: 'A studio admin sets one first (allowed providers, caps, offline rule).',
    });
  }
}
