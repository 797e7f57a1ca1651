import { AppError } from '../../contract/errors.js';
import type { ActualCost } from '../../contract/money.js';
import { sqliteError, type SqliteDatabase } from '../db/sqlite.js';
import { Budgets, type BudgetWarning } from './budgets.js';
import { actualMicros, reservationAmount, usd, type LedgerStatus, type SpendRequest, type StoredEstimate } from './spend-request.js';

export interface LedgerEntry {
  id: number;
  requestId: string;
  status: LedgerStatus;
  provider: string;
  model: string;
  project: string | null;
  member: string | null;
  currency: 'USD';
  estimate: StoredEstimate;
  reservedMicros: number;
  actualMicros: number | null;
  actualSource: string | null;
  actualBasis: string | null;
  /** Why it was released or failed. */
  note: string | null;
  createdAt: number;
  finishedAt: number | null;
  imageIds: string[];
}

export interface ReserveResult {
  entry: LedgerEntry;
  /** Soft limits this reservation passes; the UI shows them, nothing is blocked. */
  warnings: BudgetWarning[];
  /** True when this request id was reserved before: nothing new was held. */
  alreadyReserved: boolean;
}

export interface FinishResult {
  entry: LedgerEntry;
  /** False when the row already had this status: a repeated settle or release changes nothing. */
  changed: boolean;
  /** How much the actual cost passed the reservation (the estimate was wrong); 0 normally. */
  overrunMicros: number;
}

interface LedgerRow {
  id: number;
  request_id: string;
  status: LedgerStatus;
  provider: string;
  model: string;
  project: string | null;
  member: string | null;
  estimate_kind: StoredEstimate['kind'];
  estimate_min_micros: number | null;
  estimate_max_micros: number | null;
  estimate_basis: string;
  reserved_micros: number;
  actual_micros: number | null;
  actual_source: string | null;
  actual_basis: string | null;
  note: string | null;
  created_at: number;
  finished_at: number | null;
}

/** A reservation older than this with no outcome was most likely left by a crash. */
export const DEFAULT_STALE_AFTER_MS = 15 * 60_000;

/**
 * The local spend ledger: money is reserved before a paid call and settled or released after it, in
 * an append-only table (triggers reject every other update and all deletes). Reserving checks the
 * budgets and inserts the row in one `BEGIN IMMEDIATE` transaction, so two processes sharing the
 * file (the app and the CLI) cannot both see the same headroom and overshoot a hard limit.
 */
export class SpendLedger {
  readonly budgets: Budgets;
  private readonly now: () => number;

  constructor(
    private readonly db: SqliteDatabase,
    options: { timeZone: string; now?: () => number },
  ) {
    this.now = options.now ?? Date.now;
    this.budgets = new Budgets(db, { timeZone: options.timeZone, now: this.now });
  }

  reserve(request: SpendRequest): ReserveResult {
    const amount = reservationAmount(request);
    return this.write('reserve budget', () => {
      const existing = this.get(request.requestId);
      if (existing) {
        if (existing.provider !== request.provider || existing.model !== request.model || existing.reservedMicros !== amount.reservedMicros) {
          throw new AppError('invalid_input', `Request id ${request.requestId} was already used for a different request (${existing.provider} ${existing.model}, ${usd(existing.reservedMicros)}).`, {
            hint: 'Give every paid attempt its own request id.',
          });
        }
        return { entry: existing, warnings: [], alreadyReserved: true };
      }
      const at = this.now();
      const warnings = this.budgets.check({ provider: request.provider, project: request.project, amountMicros: amount.reservedMicros }, at);
      this.db
        .prepare(
          `INSERT INTO ledger (request_id, status, provider, model, project, member, currency, estimate_kind, estimate_min_micros, estimate_max_micros, estimate_basis, reserved_micros, created_at)
           VALUES (?, 'reserved', ?, ?, ?, ?, 'USD', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          request.requestId,
          request.provider,
          request.model,
          request.project ?? null,
          request.member ?? null,
          amount.estimate.kind,
          amount.estimate.minMicros,
          amount.estimate.maxMicros,
          amount.estimate.basis,
          amount.reservedMicros,
          at,
        );
      return { entry: this.require(request.requestId), warnings, alreadyReserved: false };
    });
  }

  /** Records what the call really cost, and the images it produced (which the image store then keeps). */
  settle(requestId: string, actual: ActualCost, options: { imageIds?: readonly string[] } = {}): FinishResult {
    return this.finish(requestId, 'settled', { actual, note: null, imageIds: options.imageIds ?? [] });
  }

  /** The call failed but the provider billed it anyway (some refusals are charged). */
  failBilled(requestId: string, actual: ActualCost, reason: string): FinishResult {
    return this.finish(requestId, 'failed-billed', { actual, note: reason, imageIds: [] });
  }

  /** The call failed or was never sent: the reservation is returned to the budget. */
  release(requestId: string, reason: string): FinishResult {
    return this.finish(requestId, 'released', { actual: null, note: reason, imageIds: [] });
  }

  get(requestId: string): LedgerEntry | null {
    const row = this.db.prepare('SELECT * FROM ledger WHERE request_id = ?').get(requestId) as LedgerRow | undefined;
    return row ? this.toEntry(row) : null;
  }

  /** Reservations with no outcome older than `olderThanMs`: left by a crash, to settle or release. */
  listStale(olderThanMs: number = DEFAULT_STALE_AFTER_MS): LedgerEntry[] {
    const rows = this.db.prepare(`SELECT * FROM ledger WHERE status = 'reserved' AND created_at <= ? ORDER BY created_at`).all(this.now() - olderThanMs) as LedgerRow[];
    return rows.map((row) => this.toEntry(row));
  }

  private finish(requestId: string, status: Exclude<LedgerStatus, 'reserved'>, outcome: { actual: ActualCost | null; note: string | null; imageIds: readonly string[] }): FinishResult {
    const micros = outcome.actual ? actualMicros(outcome.actual) : null;
    return this.write(`record the outcome of ${requestId}`, () => {
      const entry = this.get(requestId);
      if (!entry) throw new AppError('not_found', `No reservation with request id ${requestId} is in the ledger.`, { hint: 'Reserve before a paid call; settle or release with the same request id.' });
      if (entry.status === status) return { entry, changed: false, overrunMicros: 0 };
      if (entry.status !== 'reserved') {
        throw new AppError('invalid_input', `Request ${requestId} is already ${entry.status}; it cannot become ${status}.`, {
          hint: 'A ledger row records one outcome. If money was spent after a release, record it as a new request.',
        });
      }
      this.db
        .prepare('UPDATE ledger SET status = ?, actual_micros = ?, actual_source = ?, actual_basis = ?, note = ?, finished_at = ? WHERE request_id = ?')
        .run(status, micros, outcome.actual?.source ?? null, outcome.actual?.basis ?? null, outcome.note, this.now(), requestId);
      const link = this.db.prepare('INSERT OR IGNORE INTO ledger_images (request_id, image_id) VALUES (?, ?)');
      for (const imageId of outcome.imageIds) {
        if (!this.db.prepare('SELECT 1 FROM images WHERE id = ?').get(imageId)) {
          throw new AppError('not_found', `Image ${imageId} is not in the image store, so the ledger cannot point to it.`, { hint: 'Store the image before settling.' });
        }
        link.run(requestId, imageId);
      }
      return { entry: this.require(requestId), changed: true, overrunMicros: Math.max(0, (micros ?? 0) - entry.reservedMicros) };
    });
  }

  private write<T>(doing: string, body: () => T): T {
    try {
      return this.db.transaction(body).immediate();
    } catch (error) {
      throw sqliteError(error, doing);
    }
  }

  private require(requestId: string): LedgerEntry {
    const entry = this.get(requestId);
    if (!entry) throw new AppError('internal', `Ledger row ${requestId} vanished inside its own transaction.`);
    return entry;
  }

  private toEntry(row: LedgerRow): LedgerEntry {
    const imageIds = (this.db.prepare('SELECT image_id FROM ledger_images WHERE request_id = ? ORDER BY rowid').pluck().all(row.request_id) as string[]);
    return {
      id: row.id,
      requestId: row.request_id,
      status: row.status,
      provider: row.provider,
      model: row.model,
      project: row.project,
      member: row.member,
      currency: 'USD',
      estimate: { kind: row.estimate_kind, minMicros: row.estimate_min_micros, maxMicros: row.estimate_max_micros, basis: row.estimate_basis },
      reservedMicros: row.reserved_micros,
      actualMicros: row.actual_micros,
      actualSource: row.actual_source,
      actualBasis: row.actual_basis,
      note: row.note,
      createdAt: row.created_at,
      finishedAt: row.finished_at,
      imageIds,
    };
  }
}
