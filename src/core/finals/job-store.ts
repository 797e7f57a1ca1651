import { z } from 'zod';
import { AppError, ErrorPayloadSchema, type ErrorPayload } from '../../contract/errors.js';
import { ActualCostSchema, CostEstimateSchema, type ActualCost, type CostEstimate } from '../../contract/money.js';
import type { ProviderId } from '../../contract/providers.js';
import { PendingJobSchema, type PendingJob } from '../../providers/types.js';
import { sqliteError, type SqliteDatabase } from '../db/sqlite.js';
import { FinalRequestSchema, type FinalRequest } from './final-request.js';

export type JobStatus = 'queued' | 'reserving' | 'submitting' | 'accepted' | 'succeeded' | 'failed' | 'cancelled' | 'unknown-submission';

/** States a job leaves on its own; the rest wait for a person (unknown-submission) or are final. */
export const OPEN_STATUSES: readonly JobStatus[] = ['queued', 'reserving', 'submitting', 'accepted'];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** One final, as the UI, the CLI and events see it. It never contains a key. */
export interface FinalJob {
  id: string;
  createdAt: number;
  updatedAt: number;
  provider: ProviderId;
  model: string;
  project: string | null;
  request: FinalRequest;
  /** The price shown before sending. */
  estimate: CostEstimate;
  /** What the user confirmed for a model without a listed price; null otherwise. */
  unknownPriceCapMicros: number | null;
  cacheRandomSeed: boolean;
  ledgerRequestId: string | null;
  status: JobStatus;
  providerJobId: string | null;
  pendingJob: PendingJob | null;
  imageIds: string[];
  /** What it really cost (null until settled, and for a cache hit, which costs nothing). */
  actual: ActualCost | null;
  /** Set when the exact cache answered: what this request would have cost. */
  cacheSavedMicros: number | null;
  /** For the user: "cached — saved $0.040", what an unknown submission means, how a cancel went. */
  message: string | null;
  error: ErrorPayload | null;
  lastError: ErrorPayload | null;
  /** HTTP sends of the submit call, 429 retries included; 0 until something was sent. */
  attempts: number;
  cancelRequestedAt: number | null;
  runner: string | null;
  runnerPid: number | null;
}

interface JobRow {
  id: string;
  created_at: number;
  updated_at: number;
  provider: string;
  model: string;
  project: string | null;
  request: string;
  estimate: string;
  unknown_price_cap_micros: number | null;
  cache_random_seed: number;
  ledger_request_id: string | null;
  status: JobStatus;
  provider_job_id: string | null;
  pending_job: string | null;
  image_ids: string | null;
  actual: string | null;
  cache_saved_micros: number | null;
  message: string | null;
  error: string | null;
  last_error: string | null;
  attempts: number;
  cancel_requested_at: number | null;
  runner: string | null;
  runner_pid: number | null;
}

/** Columns a transition may set; `undefined` leaves a column as it is. */
export interface JobChanges {
  status?: JobStatus;
  ledgerRequestId?: string;
  providerJobId?: string;
  pendingJob?: PendingJob;
  imageIds?: readonly string[];
  actual?: ActualCost;
  message?: string | null;
  error?: ErrorPayload;
  lastError?: ErrorPayload | null;
  attempts?: number;
  cancelRequestedAt?: number;
  runner?: string;
  runnerPid?: number;
}

export interface NewJob {
  id: string;
  request: FinalRequest;
  estimate: CostEstimate;
  unknownPriceCapMicros: number | null;
  cacheRandomSeed: boolean;
  /** 'failed' records an attempt the budget refused before anything was sent. */
  status: 'queued' | 'succeeded' | 'failed';
  runner: string;
  runnerPid: number;
  /** The ledger request id its reservation uses; none for a cache hit, which spends nothing. */
  ledgerRequestId?: string;
  imageIds?: readonly string[];
  cacheSavedMicros?: number;
  message?: string;
  error?: ErrorPayload;
}

const COLUMNS: Record<keyof JobChanges, string> = {
  status: 'status',
  ledgerRequestId: 'ledger_request_id',
  providerJobId: 'provider_job_id',
  pendingJob: 'pending_job',
  imageIds: 'image_ids',
  actual: 'actual',
  message: 'message',
  error: 'error',
  lastError: 'last_error',
  attempts: 'attempts',
  cancelRequestedAt: 'cancel_requested_at',
  runner: 'runner',
  runnerPid: 'runner_pid',
};

/**
 * The `final_jobs` table. Every change a runner makes is a compare-and-set on the runner that owns
 * the job, so two processes sharing the database (the app and the CLI) can both resume jobs and still
 * never both submit one; the table's own trigger refuses any second trip through 'submitting'.
 */
export class JobStore {
  private readonly now: () => number;

  constructor(
    private readonly db: SqliteDatabase,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  insert(job: NewJob): FinalJob {
    const at = this.now();
    this.write('record the final job', () =>
      this.db
        .prepare(
          `INSERT INTO final_jobs (id, created_at, updated_at, provider, model, project, request, estimate, unknown_price_cap_micros, cache_random_seed,
             ledger_request_id, status, image_ids, cache_saved_micros, message, error, runner, runner_pid)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          job.id,
          at,
          at,
          job.request.provider,
          job.request.model,
          job.request.project ?? null,
          JSON.stringify(job.request),
          JSON.stringify(job.estimate),
          job.unknownPriceCapMicros,
          job.cacheRandomSeed ? 1 : 0,
          job.ledgerRequestId ?? null,
          job.status,
          job.imageIds ? JSON.stringify(job.imageIds) : null,
          job.cacheSavedMicros ?? null,
          job.message ?? null,
          job.error ? JSON.stringify(job.error) : null,
          job.runner,
          job.runnerPid,
        ),
    );
    return this.require(job.id);
  }

  get(id: string): FinalJob | null {
    const row = this.db.prepare('SELECT * FROM final_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toJob(row) : null;
  }

  require(id: string): FinalJob {
    const job = this.get(id);
    if (!job) throw new AppError('not_found', `No final job ${id}.`, { hint: 'List jobs to see their ids.' });
    return job;
  }

  /** Newest first. */
  list(options: { limit?: number; statuses?: readonly JobStatus[] } = {}): FinalJob[] {
    const statuses = options.statuses ?? [];
    const where = statuses.length > 0 ? `WHERE status IN (${statuses.map(() => '?').join(', ')})` : '';
    const rows = this.db
      .prepare(`SELECT * FROM final_jobs ${where} ORDER BY created_at DESC, id LIMIT ?`)
      .all(...statuses, options.limit ?? 1000) as JobRow[];
    return rows.map(toJob);
  }

  /**
   * Applies `changes` only while the job is in one of `from` and owned by `runner` (null: anyone).
   * Returns the updated job, or null when someone else moved it first.
   */
  transition(id: string, from: readonly JobStatus[], runner: string | null, changes: JobChanges): FinalJob | null {
    const sets: string[] = ['updated_at = ?'];
    const values: Array<string | number | null> = [this.now()];
    for (const [key, column] of Object.entries(COLUMNS) as Array<[keyof JobChanges, string]>) {
      const value = changes[key];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(value === null || typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value));
    }
    const owner = runner === null ? '' : 'AND runner IS ?';
    const changed = this.write(`update final job ${id}`, () =>
      this.db
        .prepare(`UPDATE final_jobs SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) ${owner}`)
        .run(...values, id, ...from, ...(runner === null ? [] : [runner])),
    ).changes;
    return changed === 1 ? this.require(id) : null;
  }

  /** `transition`, or `JobTakenOver` when another runner moved the job first. */
  move(id: string, from: readonly JobStatus[], runner: string, changes: JobChanges): FinalJob {
    const moved = this.transition(id, from, runner, changes);
    if (!moved) throw new JobTakenOver(`final job ${id} was moved by another runner`);
    return moved;
  }

  /** Takes a job over from `previousRunner` (a process that died); only one taker wins. */
  claim(id: string, previousRunner: string | null, runner: string, runnerPid: number): FinalJob | null {
    const changed = this.write(`claim final job ${id}`, () =>
      this.db.prepare('UPDATE final_jobs SET runner = ?, runner_pid = ?, updated_at = ? WHERE id = ? AND runner IS ?').run(runner, runnerPid, this.now(), id, previousRunner),
    ).changes;
    return changed === 1 ? this.require(id) : null;
  }

  /**
   * Runs `body` as one durable commit: the job row and the ledger or cache rows it changes land
   * together or not at all (their own transactions nest as savepoints), and it costs one fsync.
   */
  atomically<T>(doing: string, body: () => T): T {
    return this.write(doing, body);
  }

  /** A sign of life while a job waits on the provider, so another process does not take it over. */
  heartbeat(id: string, runner: string): void {
    this.write('record a heartbeat', () => this.db.prepare('UPDATE final_jobs SET updated_at = ? WHERE id = ? AND runner IS ?').run(this.now(), id, runner));
  }

  private write<T>(doing: string, body: () => T): T {
    try {
      return this.db.transaction(body).immediate();
    } catch (error) {
      throw sqliteError(error, doing);
    }
  }
}

/** Another runner (another process, after a takeover) moved the job first; this one stops working on it. */
export class JobTakenOver extends Error {}

const ImageIdsSchema = z.array(z.string());

function parseColumn<S extends z.ZodType>(schema: S, text: string | null, what: string, id: string): z.infer<S> | null {
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('internal', `Final job ${id} has unreadable ${what} JSON.`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new AppError('internal', `Final job ${id} has ${what} in an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
  return parsed.data;
}

function toJob(row: JobRow): FinalJob {
  const request = parseColumn(FinalRequestSchema, row.request, 'request', row.id);
  const estimate = parseColumn(CostEstimateSchema, row.estimate, 'estimate', row.id);
  if (!request || !estimate) throw new AppError('internal', `Final job ${row.id} has no request or estimate.`);
  return {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    provider: request.provider,
    model: row.model,
    project: row.project,
    request,
    estimate,
    unknownPriceCapMicros: row.unknown_price_cap_micros,
    cacheRandomSeed: row.cache_random_seed === 1,
    ledgerRequestId: row.ledger_request_id,
    status: row.status,
    providerJobId: row.provider_job_id,
    pendingJob: parseColumn(PendingJobSchema, row.pending_job, 'pending job', row.id),
    imageIds: parseColumn(ImageIdsSchema, row.image_ids, 'image ids', row.id) ?? [],
    actual: parseColumn(ActualCostSchema, row.actual, 'actual cost', row.id),
    cacheSavedMicros: row.cache_saved_micros,
    message: row.message,
    error: parseColumn(ErrorPayloadSchema, row.error, 'error', row.id),
    lastError: parseColumn(ErrorPayloadSchema, row.last_error, 'last error', row.id),
    attempts: row.attempts,
    cancelRequestedAt: row.cancel_requested_at,
    runner: row.runner,
    runnerPid: row.runner_pid,
  };
}
