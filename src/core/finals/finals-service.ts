import { randomUUID } from 'node:crypto';
import { AppError } from '../../contract/errors.js';
import type { EstimateResult } from '../../contract/finals.js';
import { formatEstimate, formatUsd, upperBoundUsd, usdToMicros, type CostEstimate } from '../../contract/money.js';
import { getProvider } from '../../providers/registry.js';
import type { ProviderId } from '../../contract/providers.js';
import { sleepFor, type RetryOptions } from '../../providers/retry.js';
import type { ExactCache } from '../cache/exact-cache.js';
import type { SqliteDatabase } from '../db/sqlite.js';
import type { ImageStore } from '../images/image-store.js';
import type { KeyService } from '../keys.js';
import type { SpendLedger } from '../spend/ledger.js';
import { parseFinalRequest, toCacheable, toGenerateRequest, type FinalRequest, type FinalRequestInput } from './final-request.js';
import { JobControl, type ResumeReport } from './job-control.js';
import { errorPayload } from './job-outcomes.js';
import { JobRunner, SHUTDOWN } from './job-runner.js';
import type { FinalsEventKind } from './job-settlement.js';
import { JobStore, OPEN_STATUSES, TERMINAL_STATUSES, type FinalJob } from './job-store.js';
import { ProviderLimiter, type LimitOverride } from './rate-limiter.js';
import type { SpendGate } from './spend-gate.js';

export type { FinalJob, JobStatus } from './job-store.js';
export type { FinalRequest, FinalRequestInput } from './final-request.js';
export type { FinalsEventKind, ResumeReport };

export interface FinalsEvent {
  kind: FinalsEventKind;
  job: FinalJob;
}

export interface SubmitOptions {
  /** A model without a listed price runs only when the user accepts that and names the most it may cost. */
  confirmUnknownPrice?: { maxUsd: number };
  /** The price the user saw and confirmed, needed when the estimate's upper bound passes `confirmAboveUsd`. */
  confirmedAboveUsd?: number;
  /** A request without a seed is answered from (and stored in) the exact cache only when the user says so. */
  allowCachedRandomSeed?: boolean;
}

export interface FinalsServiceOptions {
  db: SqliteDatabase;
  ledger: SpendLedger;
  cache: ExactCache;
  images: ImageStore;
  /** The only way to a key; the key goes into the request context and nowhere else. */
  keys: Pick<KeyService, 'resolve'>;
  /** For `IMAGEBENCH_<PROVIDER>_BASE_URL` (proxies, self-hosted gateways, test fakes). */
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /** Settings → `finals.confirmAboveUsd`; read on every submit so a change applies at once. Null: never ask. */
  confirmAboveUsd?: () => number | null;
  limits?: Partial<Record<ProviderId, LimitOverride>>;
  maxConcurrent?: number;
  /** Or a limiter shared with other services. */
  limiter?: ProviderLimiter;
  retry?: RetryOptions;
  pollIntervalMs?: number;
  maxPollMs?: number;
  submitTimeoutMs?: number;
  /** How long a job may go without a sign of life before another process takes it over. */
  staleAfterMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  onEvent?: (event: FinalsEvent) => void;
  /** Studio mode: the shared ledger a final must also reserve in; asked on every submit. */
  gate?: () => Promise<SpendGate | null>;
}

/**
 * Cloud finals as jobs: price first, the exact cache before any spend, a reservation under the
 * budget, a row on disk before anything is sent, one submission per job ever, and polling that
 * survives a crash. Everything the user sees goes through `onEvent`; nothing here ever holds a key
 * beyond the request that needs it.
 */
export class FinalsService {
  private readonly store: JobStore;
  private readonly limiter: ProviderLimiter;
  private readonly control: JobControl;
  private readonly runner: JobRunner;
  private readonly listeners = new Set<(event: FinalsEvent) => void>();

  constructor(private readonly o: FinalsServiceOptions) {
    const now = o.now ?? Date.now;
    this.store = new JobStore(o.db, { now });
    this.limiter = o.limiter ?? new ProviderLimiter({ overrides: o.limits, maxConcurrent: o.maxConcurrent, now, sleep: o.sleep });
    if (o.onEvent) this.listeners.add(o.onEvent);
    const env = o.env ?? process.env;
    const fetchImpl = o.fetch ?? globalThis.fetch;
    this.runner = new JobRunner({
      store: this.store,
      ledger: o.ledger,
      cache: o.cache,
      images: o.images,
      keys: o.keys,
      limiter: this.limiter,
      env,
      fetch: fetchImpl,
      retry: o.retry,
      pollIntervalMs: o.pollIntervalMs ?? 1_000,
      maxPollMs: o.maxPollMs ?? 60 * 60_000,
      submitTimeoutMs: o.submitTimeoutMs ?? 5 * 60_000,
      sleep: o.sleep ?? sleepFor,
      now,
      runner: randomUUID(),
      emit: (kind, job) => this.emit(kind, job),
    });
    this.control = new JobControl({
      store: this.store,
      runner: this.runner,
      ledger: o.ledger,
      keys: o.keys,
      env,
      fetch: fetchImpl,
      retry: o.retry,
      now,
      staleAfterMs: o.staleAfterMs ?? 15 * 60_000,
      emit: (kind, job) => this.emit(kind, job),
    });
  }

  /** The price before anything is spent, and whether spending it needs a confirmation. */
  estimate(input: FinalRequestInput): EstimateResult {
    const request = parseFinalRequest(input);
    const estimate = this.priceOf(request);
    const upper = upperBoundUsd(estimate);
    const threshold = this.o.confirmAboveUsd?.() ?? null;
    return { estimate, text: formatEstimate(estimate), needsConfirmation: upper === null || (threshold !== null && upper > threshold) };
  }

  /**
   * Queues a final and returns its job id, with its budget already reserved. A cache hit is answered
   * at once for $0 and touches no budget. Refusals that need the user (unknown price, a price above the
   * confirmation threshold, a request no limit can let through) throw before anything is written; a
   * budget refusal throws the ledger's own error and leaves the job recorded as failed.
   */
  async submit(input: FinalRequestInput, options: SubmitOptions = {}): Promise<string> {
    const request = parseFinalRequest(input);
    const provider = getProvider(request.provider);
    if (!provider.info.officialApi) {
      throw new AppError('invalid_input', `${provider.info.displayName} has no official API, so ImageBench cannot send finals to it.`, { hint: provider.info.note });
    }
    const estimate = this.priceOf(request);
    const allowRandomSeed = options.allowCachedRandomSeed === true;
    const lookup = this.o.cache.lookup(toCacheable(request), { allowRandomSeed });
    const base = { id: randomUUID(), request, estimate, cacheRandomSeed: allowRandomSeed, runner: this.control.runner, runnerPid: process.pid };
    if (lookup.hit) {
      const job = this.store.insert({ ...base, unknownPriceCapMicros: null, status: 'succeeded', imageIds: lookup.imageIds, cacheSavedMicros: lookup.savedMicros, message: lookup.message });
      this.emit('succeeded', job);
      return job.id;
    }
    this.limiter.check(request.provider, request.n);
    const unknownPriceCapMicros = this.confirmPrice(request, estimate, options);
    if (request.initImage && !this.o.images.get(request.initImage.imageId)) {
      throw new AppError('not_found', `The input image ${request.initImage.imageId.slice(0, 12)}… is not in the image store.`, { hint: 'Pick the preview again, or import the image first.' });
    }
    // The studio's shared cap comes first: a refusal there spends nothing anywhere.
    const gate = (await this.o.gate?.()) ?? null;
    await gate?.reserve({
      requestId: base.id,
      provider: request.provider,
      model: request.model,
      project: request.project,
      estimate,
      images: request.n,
      allowUnknownPrice: unknownPriceCapMicros !== null,
      capMicros: unknownPriceCapMicros ?? undefined,
    });
    if (gate) this.mirrorTo(gate, base.id);
    // The row and its reservation are one commit: there is never a reservation without its job.
    let job: FinalJob;
    try {
      job = this.store.atomically('queue the final', () => this.runner.reserve(this.store.insert({ ...base, ledgerRequestId: base.id, unknownPriceCapMicros, status: 'queued' })));
    } catch (error) {
      await gate?.release(base.id, `refused locally: ${error instanceof Error ? error.message : String(error)}`);
      // The ledger's own words (budget_exceeded with what is left and when it resets) reach the
      // caller, and the refused attempt stays on record.
      if (error instanceof AppError && error.code === 'budget_exceeded') {
        this.emit('failed', this.store.insert({ ...base, unknownPriceCapMicros, status: 'failed', error: errorPayload(error) }));
      }
      throw error;
    }
    this.emit('queued', job);
    this.control.start(job);
    return job.id;
  }

  get(id: string): FinalJob {
    return this.store.require(id);
  }

  list(options: { limit?: number } = {}): FinalJob[] {
    return this.store.list(options);
  }

  /**
   * Ledger request ids that open jobs (and unknown submissions) still hold. A reconciliation of stale
   * reservations must leave these alone: the job will settle or release them itself.
   */
  heldReservations(): string[] {
    return this.store
      .list({ statuses: [...OPEN_STATUSES, 'unknown-submission'], limit: Number.MAX_SAFE_INTEGER })
      .flatMap((job) => (job.ledgerRequestId ? [job.ledgerRequestId] : []));
  }

  /** Resolves when the job ends, or needs the user (an unknown submission). */
  wait(id: string): Promise<FinalJob> {
    const settled = (job: FinalJob): boolean => TERMINAL_STATUSES.includes(job.status) || job.status === 'unknown-submission';
    return new Promise((resolve, reject) => {
      const off = this.on((event) => {
        if (event.job.id === id && settled(event.job)) {
          off();
          resolve(event.job);
        }
      });
      try {
        const job = this.store.require(id);
        if (settled(job)) {
          off();
          resolve(job);
        }
      } catch (error) {
        off();
        reject(error);
      }
    });
  }

  /** Stops a job: locally while it waits, at the provider (where the API can) once accepted. */
  cancel(id: string): Promise<FinalJob> {
    return this.control.cancel(id);
  }

  /** At startup: accepted jobs poll again, unsent ones run, half-sent ones are held for the user. */
  resume(): Promise<ResumeReport> {
    return this.control.resume();
  }

  /**
   * Ends an unknown submission once the user has looked at the provider's dashboard: with
   * `billedUsd` it was billed (the ledger records that amount), without it the reservation returns.
   */
  releaseUnknown(id: string, options: { billedUsd?: number } = {}): FinalJob {
    return this.control.releaseUnknown(id, options);
  }

  on(listener: (event: FinalsEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops polling and queued jobs where they are (they resume at the next start) and waits for sends in flight. */
  async close(): Promise<void> {
    await this.control.stopAll(SHUTDOWN);
    this.o.cache.flush();
  }

  private priceOf(request: FinalRequest): CostEstimate {
    return getProvider(request.provider).estimate(toGenerateRequest(request));
  }

  /** Returns the cap to reserve for an unknown price, or null for a listed one; throws when the user must confirm. */
  private confirmPrice(request: FinalRequest, estimate: CostEstimate, options: SubmitOptions): number | null {
    const upper = upperBoundUsd(estimate);
    if (upper === null) {
      const max = options.confirmUnknownPrice?.maxUsd;
      if (max === undefined) {
        throw new AppError('invalid_input', `The price of ${request.provider} ${request.model} is unknown (${estimate.kind === 'unknown' ? estimate.reason : 'no upper bound'}); nothing was sent.`, {
          hint: 'Confirm that you accept an unknown price and say the most it may cost; the budget holds that much until the actual cost is known.',
        });
      }
      if (!Number.isFinite(max) || max <= 0) throw new AppError('invalid_input', `The most an unknown price may cost must be a positive amount, got ${max}.`);
      return usdToMicros(max);
    }
    const threshold = this.o.confirmAboveUsd?.() ?? null;
    // The confirmation must cover this price: one given for a cheaper request does not carry over.
    if (threshold !== null && upper > threshold && !(options.confirmedAboveUsd !== undefined && usdToMicros(options.confirmedAboveUsd) >= usdToMicros(upper))) {
      throw new AppError('invalid_input', `This final may cost up to ${formatUsd(upper)}, above the ${formatUsd(threshold)} that needs a confirmation; nothing was sent.`, {
        hint: 'Confirm the price shown, or lower the count or quality. The threshold is finals.confirmAboveUsd in settings.',
      });
    }
    return null;
  }

  /** Tells the studio ledger how this job ended; an unknown submission keeps its hold there too. */
  private mirrorTo(gate: SpendGate, jobId: string): void {
    const unsubscribe = this.on(({ kind, job }) => {
      if (job.id !== jobId) return;
      const finished =
        kind === 'succeeded' && job.actual
          ? gate.settle(jobId, job.actual)
          : kind === 'failed' && job.actual
            ? gate.failBilled(jobId, job.actual, job.error?.message ?? 'failed')
            : kind === 'failed' || kind === 'cancelled'
              ? gate.release(jobId, job.error?.message ?? kind)
              : null;
      if (finished === null) return;
      unsubscribe();
      finished.catch((error: unknown) => console.error(`[finals] the studio ledger did not record how ${jobId} ended:`, error instanceof Error ? error.message : error));
    });
  }

  private emit(kind: FinalsEventKind, job: FinalJob): void {
    for (const listener of this.listeners) {
      try {
        listener({ kind, job });
      } catch (error) {
        // A broken listener (a closed window, a UI bug) must not change what happens to the money;
        // it is reported on the process's warning channel instead.
        process.emitWarning(`A finals event listener threw on ${kind} for job ${job.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
