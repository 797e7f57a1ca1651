import { AppError } from '../../contract/errors.js';
import { formatUsd, microsToUsd, usdToMicros, type ActualCost } from '../../contract/money.js';
import { ProviderError } from '../../providers/provider-error.js';
import { getProvider } from '../../providers/registry.js';
import type { DoneResult } from '../../providers/types.js';
import type { ExactCache } from '../cache/exact-cache.js';
import { embedParameters } from '../images/generation-parameters.js';
import type { ImageStore } from '../images/image-store.js';
import type { SpendLedger } from '../spend/ledger.js';
import { toCacheable, toParameters } from './final-request.js';
import { classifySubmitFailure, errorPayload, unknownSubmissionMessage, type WireRecord } from './job-outcomes.js';
import type { FinalJob, JobChanges, JobStatus, JobStore } from './job-store.js';

export type FinalsEventKind = 'queued' | 'progress' | 'succeeded' | 'failed' | 'cancelled' | 'unknown-submission';

export interface SettlementDeps {
  store: JobStore;
  ledger: SpendLedger;
  cache: ExactCache;
  images: ImageStore;
  runner: string;
  emit: (kind: FinalsEventKind, job: FinalJob) => void;
}

/**
 * How a job ends, for the images and for the money. Each ending writes the ledger and the job row in
 * one commit, so the budget and the job never disagree after a crash: settled with the images,
 * released when nothing was billed, failed-billed when the provider kept the money, or held (an
 * unknown submission) when nobody can tell yet.
 */
export class JobSettlement {
  constructor(private readonly d: SettlementDeps) {}

  /** Images into the store (parameters embedded in the PNG), their ids on the row, then ledger, cache and outcome. */
  async storeImages(job: FinalJob, done: DoneResult, extra: JobChanges): Promise<void> {
    const from: JobStatus[] = ['submitting', 'accepted'];
    const actual = done.actualCost ?? this.fallbackActual(job);
    const imageIds: string[] = [];
    try {
      for (const image of done.images) {
        const parameters = toParameters(job.request, image.seed);
        const bytes = image.mime === 'image/png' ? embedParameters(image.bytes, parameters) : image.bytes;
        imageIds.push((await this.d.images.put(bytes, { source: 'cloud-final', parameters })).image.id);
      }
    } catch (error) {
      // Paid for, but the images could not be kept (a full disk): the money is still spent.
      const payload = errorPayload(error);
      const failed = this.d.store.atomically('record the lost final', () => {
        this.d.ledger.failBilled(ledgerId(job), actual, `the images could not be stored: ${payload.message}`);
        return this.move(job.id, from, { ...extra, status: 'failed', actual, error: payload });
      });
      this.d.emit('failed', failed);
      return;
    }
    // Recorded before settling, so a crash from here finishes from disk instead of asking the provider again.
    this.complete(this.move(job.id, from, { ...extra, imageIds, actual }), actual, imageIds);
  }

  /** Ledger settled, cache entry and outcome in one commit. */
  complete(job: FinalJob, actual: ActualCost, imageIds: readonly string[]): void {
    const done = this.d.store.atomically('record the finished final', () => {
      const settled = this.d.ledger.settle(ledgerId(job), actual, { imageIds });
      this.d.cache.store(toCacheable(job.request), { imageIds, costMicros: usdToMicros(actual.usd) }, { allowRandomSeed: job.cacheRandomSeed });
      const notes: string[] = [];
      if (job.cancelRequestedAt !== null) notes.push(`It finished before the cancel reached ${getProvider(job.provider).info.displayName}, so it was billed and kept.`);
      if (settled.overrunMicros > 0) notes.push(`It cost ${formatUsd(microsToUsd(settled.overrunMicros))} more than the estimate reserved.`);
      return this.move(job.id, ['submitting', 'accepted'], { status: 'succeeded', message: notes.length > 0 ? notes.join(' ') : null });
    });
    this.d.emit('succeeded', done);
  }

  /** Nothing was sent: give back what was reserved and end as cancelled or failed. */
  endUnsent(jobId: string, error: unknown): void {
    const payload = errorPayload(error);
    const cancelled = payload.code === 'cancelled';
    const ended = this.d.store.atomically('end the unsent final', () => {
      const job = this.d.store.get(jobId);
      if (!job || (job.status !== 'queued' && job.status !== 'reserving')) return null;
      const reservation = this.d.ledger.get(ledgerId(job));
      if (reservation?.status === 'reserved') this.d.ledger.release(reservation.requestId, cancelled ? 'cancelled before sending' : `not sent: ${payload.message}`);
      return this.d.store.transition(jobId, ['queued', 'reserving'], this.d.runner, { status: cancelled ? 'cancelled' : 'failed', error: payload, lastError: payload });
    });
    if (ended) this.d.emit(cancelled ? 'cancelled' : 'failed', ended);
  }

  /** The submit call failed: refused (release), billed anyway (failed-billed), or unknown (hold, never re-send). */
  endSubmitFailure(job: FinalJob, error: unknown, wire: WireRecord, sentAt: number, apiKey: string | undefined): void {
    const outcome = classifySubmitFailure(error, wire);
    const payload = errorPayload(error, apiKey);
    const base: JobChanges = { attempts: wire.sends, lastError: payload };
    if (outcome === 'unknown') {
      const message = unknownSubmissionMessage({
        info: getProvider(job.provider).info,
        model: job.model,
        sentAt,
        reservedMicros: this.d.ledger.get(ledgerId(job))?.reservedMicros ?? null,
        cause: wire.accepted ? 'unreadable-answer' : 'no-answer',
        detail: payload.message,
      });
      this.d.emit('unknown-submission', this.move(job.id, ['submitting'], { ...base, status: 'unknown-submission', message }));
      return;
    }
    const billed = outcome === 'billed' && error instanceof ProviderError ? error.actualCost : undefined;
    const ended = this.d.store.atomically('end the refused final', () => {
      if (billed) this.d.ledger.failBilled(ledgerId(job), billed, payload.message);
      else this.d.ledger.release(ledgerId(job), `refused by the provider: ${payload.message}`);
      return this.move(job.id, ['submitting'], { ...base, status: 'failed', error: payload, ...(billed ? { actual: billed } : {}) });
    });
    this.d.emit('failed', ended);
  }

  /**
   * An accepted job ended without images. The provider's verdict (failed, moderated, cancelled)
   * releases the money unless the provider reports a charge; a result that could not be read after
   * the provider accepted the job most likely ran, so it counts as spent at the amount reserved.
   */
  endAccepted(jobId: string, error: unknown, apiKey: string | undefined, kind: 'provider-verdict' | 'unreadable-result'): void {
    const payload = errorPayload(error, apiKey);
    const cancelled = kind === 'provider-verdict' && payload.code === 'cancelled';
    const status: JobStatus = cancelled ? 'cancelled' : 'failed';
    const ended = this.d.store.atomically('end the accepted final', () => {
      const job = this.d.store.require(jobId);
      let actual = error instanceof ProviderError ? error.actualCost : undefined;
      if (!actual && kind === 'unreadable-result') {
        const held = this.d.ledger.get(ledgerId(job))?.reservedMicros ?? 0;
        actual = { usd: microsToUsd(held), source: 'price-table', basis: 'assumed billed at the amount reserved: the provider accepted the job but its result could not be read' };
      }
      if (actual) this.d.ledger.failBilled(ledgerId(job), actual, payload.message);
      else this.d.ledger.release(ledgerId(job), cancelled ? 'cancelled at the provider before it produced anything' : `failed at the provider: ${payload.message}`);
      return this.move(jobId, ['accepted'], { status, error: payload, lastError: payload, ...(actual ? { actual } : {}) });
    });
    this.d.emit(status, ended);
  }

  /**
   * Something broke after the job was sent (a bug, a full disk while settling). The job keeps its
   * state, so the next start finishes it from disk or resumes polling; the user sees why it stopped.
   */
  noteTrouble(jobId: string, error: unknown): void {
    const job = this.d.store.transition(jobId, ['submitting', 'accepted'], this.d.runner, { lastError: errorPayload(error) });
    if (job) this.d.emit('progress', job);
  }

  /** A model with no price in the table (the user confirmed a cap) that reported none either. */
  private fallbackActual(job: FinalJob): ActualCost {
    const held = this.d.ledger.get(ledgerId(job))?.reservedMicros;
    if (held === undefined) throw new AppError('internal', `Final job ${job.id} finished without a reservation.`);
    return { usd: microsToUsd(held), source: 'price-table', basis: 'no price was reported or listed; recorded at the amount reserved (the confirmed cap)' };
  }

  private move(jobId: string, from: readonly JobStatus[], changes: JobChanges): FinalJob {
    return this.d.store.move(jobId, from, this.d.runner, changes);
  }
}

export function ledgerId(job: FinalJob): string {
  return job.ledgerRequestId ?? job.id;
}
