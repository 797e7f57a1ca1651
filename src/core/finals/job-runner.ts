import { AppError } from '../../contract/errors.js';
import { resolveBaseUrl } from '../../providers/base-url.js';
import { getProvider } from '../../providers/registry.js';
import { backoffDelayMs, type RetryOptions } from '../../providers/retry.js';
import type { ImageProvider, PendingJob, ProviderContext } from '../../providers/types.js';
import type { ExactCache } from '../cache/exact-cache.js';
import type { ImageStore } from '../images/image-store.js';
import type { KeyService } from '../keys.js';
import type { SpendLedger } from '../spend/ledger.js';
import { toGenerateRequest } from './final-request.js';
import { errorPayload, newWireRecord, recordingFetch } from './job-outcomes.js';
import { JobSettlement, type FinalsEventKind } from './job-settlement.js';
import { JobTakenOver, type FinalJob, type JobChanges, type JobStatus, type JobStore } from './job-store.js';
import type { ProviderLimiter } from './rate-limiter.js';

export interface RunnerDeps {
  store: JobStore;
  ledger: SpendLedger;
  cache: ExactCache;
  images: ImageStore;
  keys: Pick<KeyService, 'resolve'>;
  limiter: ProviderLimiter;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  retry: RetryOptions | undefined;
  pollIntervalMs: number;
  /** Polling stops (the job stays accepted, to resume later) after this long. */
  maxPollMs: number;
  /** A synchronous submit that takes longer than this is given up as an unknown submission. */
  submitTimeoutMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  now: () => number;
  runner: string;
  emit: (kind: FinalsEventKind, job: FinalJob) => void;
}

/** The life of one job after it is written: reserve, send once, poll, store, settle. */
export class JobRunner {
  private readonly settle: JobSettlement;

  constructor(private readonly d: RunnerDeps) {
    this.settle = new JobSettlement({ store: d.store, ledger: d.ledger, cache: d.cache, images: d.images, runner: d.runner, emit: d.emit });
  }

  /** This runner's identity on the job rows it owns. */
  get id(): string {
    return this.d.runner;
  }

  /** Runs a job that has not been sent (queued, or reserving after a crash). */
  async run(job: FinalJob, signal: AbortSignal): Promise<void> {
    let release: (() => void) | null = null;
    try {
      release = await this.d.limiter.acquireSlot(job.provider, job.request.n, signal);
      await this.sendOnce(job, signal);
    } catch (error) {
      if (error instanceof JobTakenOver || signal.reason === SHUTDOWN) return;
      const now = this.d.store.get(job.id);
      if (now && (now.status === 'queued' || now.status === 'reserving')) this.settle.endUnsent(job.id, error);
      else this.settle.noteTrouble(job.id, error);
    } finally {
      release?.();
    }
  }

  /** Follows an accepted job to its end; a crash-resumed job comes here and is never sent again. */
  async follow(job: FinalJob, signal: AbortSignal): Promise<void> {
    let release: (() => void) | null = null;
    try {
      release = await this.d.limiter.acquireSlot(job.provider, job.request.n, signal);
      await this.pollToEnd(job, signal);
    } catch (error) {
      if (error instanceof JobTakenOver || signal.aborted) return;
      this.settle.noteTrouble(job.id, error);
    } finally {
      release?.();
    }
  }

  /**
   * Holds the estimate's upper bound (or the confirmed cap of an unknown price) under the budgets.
   * Idempotent on the request id, so a job resumed in 'queued' or 'reserving' never holds twice.
   */
  reserve(job: FinalJob): FinalJob {
    const ledgerRequestId = job.ledgerRequestId ?? job.id;
    const { entry } = this.d.ledger.reserve({
      requestId: ledgerRequestId,
      provider: job.provider,
      model: job.model,
      project: job.project ?? undefined,
      estimate: job.estimate,
      images: job.request.n,
      allowUnknownPrice: job.unknownPriceCapMicros !== null,
      capMicros: job.unknownPriceCapMicros ?? undefined,
    });
    if (entry.status !== 'reserved') {
      // Someone closed the reservation while the job waited (a reconciliation of stale rows).
      throw new AppError('budget_exceeded', `The budget reservation for this final is already ${entry.status}, so it was not sent.`, {
        hint: 'Submit it again to reserve the budget anew.',
      });
    }
    return job.ledgerRequestId === ledgerRequestId ? job : this.move(job.id, ['queued', 'reserving'], { ledgerRequestId });
  }

  /** Finishes a job whose images were stored before a crash: settle, cache, done. */
  finishStored(job: FinalJob): void {
    if (!job.actual) throw new AppError('internal', `Final job ${job.id} has images but no recorded cost.`);
    this.settle.complete(job, job.actual, job.imageIds);
  }

  private async sendOnce(queued: FinalJob, signal: AbortSignal): Promise<void> {
    const provider = getProvider(queued.provider);
    // Reserved when it was queued, in one commit with its row, so this is a no-op (the ledger is
    // idempotent on the request id); it stays so that no path can reach the provider unreserved.
    let job = this.d.store.atomically('reserve the final', () => this.reserve(this.move(queued.id, ['queued', 'reserving'], { status: 'reserving' })));
    this.d.emit('progress', job);
    const init = job.request.initImage ? await this.readInitImage(job.request.initImage.imageId) : undefined;
    await this.d.limiter.takeToken(job.provider, job.request.n, signal, (ms, rate) => {
      const per = rate.windowMs >= 60_000 ? `${rate.limit} ${rate.unit}s per ${rate.windowMs / 60_000} min` : `${rate.limit} ${rate.unit}s per ${rate.windowMs / 1000} s`;
      const waiting = this.move(job.id, ['reserving'], { message: `Waiting ${Math.ceil(ms / 1000)} s for ${provider.info.displayName}'s rate limit (${per}); nothing has been sent yet.` });
      this.d.emit('progress', waiting);
    });
    const apiKey = await this.resolveKey(provider);
    if (signal.aborted) throw new AppError('cancelled', 'The final was cancelled before it was sent; nothing was sent.');
    // Durable before the request leaves: a crash from here on can only end in 'unknown-submission'.
    job = this.move(job.id, ['reserving'], { status: 'submitting', message: null });
    this.d.emit('progress', job);
    const sentAt = this.d.now();
    const wire = newWireRecord();
    const ctx = this.context(provider, apiKey, AbortSignal.timeout(this.d.submitTimeoutMs), recordingFetch(this.d.fetch, wire));
    let submitted: Awaited<ReturnType<ImageProvider['submit']>>;
    try {
      submitted = await provider.submit(toGenerateRequest(job.request, init), ctx);
    } catch (error) {
      this.settle.endSubmitFailure(job, error, wire, sentAt, apiKey);
      return;
    }
    if (submitted.kind === 'done') {
      await this.settle.storeImages(job, submitted, { attempts: wire.sends });
      return;
    }
    job = this.accept(job, submitted, wire.sends);
    if (job.cancelRequestedAt !== null && provider.cancel) {
      // The user cancelled while the request was in flight; now there is a job id to cancel.
      await provider.cancel(submitted, this.context(provider, apiKey, AbortSignal.timeout(60_000), this.d.fetch)).catch((error: unknown) => {
        this.move(job.id, ['accepted'], { lastError: errorPayload(error, apiKey) });
      });
    }
    await this.pollToEnd(job, signal, apiKey);
  }

  /** The `onAccepted` moment: the provider job id is on disk before the first poll. */
  private accept(job: FinalJob, pending: PendingJob, attempts: number): FinalJob {
    const accepted = this.move(job.id, ['submitting'], { status: 'accepted', providerJobId: pending.providerJobId, pendingJob: pending, attempts });
    this.d.emit('progress', accepted);
    return accepted;
  }

  private async pollToEnd(accepted: FinalJob, signal: AbortSignal, knownKey?: string): Promise<void> {
    const provider = getProvider(accepted.provider);
    let pending = accepted.pendingJob;
    if (!pending) throw new AppError('internal', `Accepted final job ${accepted.id} has no pending job to poll.`);
    const apiKey = knownKey ?? (await this.resolveKey(provider));
    const ctx = this.context(provider, apiKey, signal, this.d.fetch);
    const deadline = this.d.now() + this.d.maxPollMs;
    let failures = 0;
    let lastBeat = this.d.now();
    for (;;) {
      try {
        await this.d.sleep(failures === 0 ? this.d.pollIntervalMs : backoffDelayMs(failures - 1, { ...this.d.retry, maxDelayMs: this.d.retry?.maxDelayMs ?? 60_000 }), signal);
      } catch {
        return; // cancelled or shutting down: the job stays accepted and resumes later
      }
      let result: Awaited<ReturnType<ImageProvider['poll']>>;
      try {
        result = await provider.poll(pending, ctx);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof AppError && error.retryable) {
          // Transport trouble says nothing about the job: keep it accepted and ask again later.
          failures += 1;
          this.move(accepted.id, ['accepted'], { lastError: errorPayload(error, apiKey) });
          if (this.d.now() < deadline) continue;
          return;
        }
        // Accepted, then unreadable (a result link that expired, a malformed answer): it most
        // likely ran, so the money counts as spent unless the provider says otherwise.
        this.settle.endAccepted(accepted.id, error, apiKey, 'unreadable-result');
        return;
      }
      failures = 0;
      if (result.kind === 'done') {
        await this.settle.storeImages(this.current(accepted.id), result, {});
        return;
      }
      if (result.kind === 'failed') {
        this.settle.endAccepted(accepted.id, result.error, apiKey, 'provider-verdict');
        return;
      }
      if (JSON.stringify(result) !== JSON.stringify(pending)) {
        this.move(accepted.id, ['accepted'], { pendingJob: result });
        lastBeat = this.d.now();
      } else if (this.d.now() - lastBeat >= HEARTBEAT_MS) {
        // A sign of life for other processes' resume(), far more often than their 15-minute
        // takeover threshold yet not a durable commit on every poll.
        this.d.store.heartbeat(accepted.id, this.d.runner);
        lastBeat = this.d.now();
      }
      pending = result;
      this.d.emit('progress', this.current(accepted.id));
      if (this.d.now() >= deadline) {
        const stillRunning = new AppError('provider_error', `${provider.info.displayName} job ${pending.providerJobId} is still running after ${Math.round(this.d.maxPollMs / 60_000)} min.`, {
          retryable: true,
          hint: 'It was not cancelled; polling resumes the next time ImageBench starts.',
        });
        this.move(accepted.id, ['accepted'], { lastError: errorPayload(stillRunning) });
        return;
      }
    }
  }

  private async readInitImage(imageId: string): Promise<{ bytes: Uint8Array<ArrayBuffer>; mime: string }> {
    const stored = this.d.images.get(imageId);
    if (!stored) throw new AppError('not_found', `The input image ${imageId.slice(0, 12)}… is no longer in the image store.`, { hint: 'Pick the preview again, or import the image, then escalate it.' });
    return { bytes: new Uint8Array(await this.d.images.read(imageId)), mime: stored.mime };
  }

  /** Right before the request that needs it; the key lives only in this call's context. */
  private async resolveKey(provider: ImageProvider): Promise<string | undefined> {
    try {
      return await this.d.keys.resolve(provider.info.id);
    } catch (error) {
      // Self-hosted servers take a key only when they were started with auth.
      if (!provider.info.keyRequired && error instanceof AppError && error.code === 'key_missing') return undefined;
      throw error;
    }
  }

  private context(provider: ImageProvider, apiKey: string | undefined, signal: AbortSignal, fetchImpl: typeof fetch): ProviderContext {
    return { apiKey, baseUrl: resolveBaseUrl(provider.info, this.d.env), fetch: fetchImpl, signal, retry: this.d.retry };
  }

  private current(jobId: string): FinalJob {
    return this.d.store.require(jobId);
  }

  private move(jobId: string, from: readonly JobStatus[], changes: JobChanges): FinalJob {
    return this.d.store.move(jobId, from, this.d.runner, changes);
  }
}

const HEARTBEAT_MS = 30_000;

/** The abort reason `close()` uses: jobs stop where they are and resume at the next start. */
export const SHUTDOWN = new AppError('cancelled', 'ImageBench is shutting down; the job resumes at the next start.');

