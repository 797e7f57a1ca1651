import { AppError } from '../../contract/errors.js';
import { formatUsd, type ActualCost } from '../../contract/money.js';
import { resolveBaseUrl } from '../../providers/base-url.js';
import { getProvider } from '../../providers/registry.js';
import type { RetryOptions } from '../../providers/retry.js';
import type { KeyService } from '../keys.js';
import type { SpendLedger } from '../spend/ledger.js';
import { errorPayload, unknownSubmissionMessage } from './job-outcomes.js';
import type { JobRunner } from './job-runner.js';
import type { FinalsEventKind } from './job-settlement.js';
import { OPEN_STATUSES, type FinalJob, type JobStore } from './job-store.js';

export interface JobControlDeps {
  store: JobStore;
  runner: JobRunner;
  ledger: SpendLedger;
  keys: Pick<KeyService, 'resolve'>;
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  retry: RetryOptions | undefined;
  now: () => number;
  staleAfterMs: number;
  emit: (kind: FinalsEventKind, job: FinalJob) => void;
}

export interface ResumeReport {
  /** Accepted jobs that poll again (never sent again). */
  polling: string[];
  /** Jobs that had not been sent and now run. */
  started: string[];
  /** Jobs that were being sent when the app stopped: held, never re-sent, waiting for the user. */
  unknown: string[];
  /** Jobs whose images were stored before the stop, finished from disk. */
  finished: string[];
}

interface Active {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Which jobs this process works on, and the decisions about them that are not the happy path:
 * cancel, resume after a crash, and letting go of an unknown submission.
 */
export class JobControl {
  /** This service instance; stamped on every job it works on. */
  readonly runner: string;
  private readonly active = new Map<string, Active>();

  constructor(private readonly d: JobControlDeps) {
    this.runner = d.runner.id;
  }

  start(job: FinalJob): void {
    this.track(job.id, (signal) => this.d.runner.run(job, signal));
  }

  async resume(): Promise<ResumeReport> {
    const report: ResumeReport = { polling: [], started: [], unknown: [], finished: [] };
    // Oldest first, so queued jobs keep the order they were submitted in.
    for (const found of this.d.store.list({ statuses: OPEN_STATUSES, limit: 10_000 }).reverse()) {
      if (this.active.has(found.id) || this.ownedElsewhere(found)) continue;
      const job = this.d.store.claim(found.id, found.runner, this.runner, process.pid);
      if (!job) continue;
      if (job.status === 'accepted') {
        this.track(job.id, (signal) => this.d.runner.follow(job, signal));
        report.polling.push(job.id);
      } else if (job.status === 'submitting' && job.imageIds.length > 0 && job.actual) {
        this.d.runner.finishStored(job);
        report.finished.push(job.id);
      } else if (job.status === 'submitting') {
        // The row last changed when it went to 'submitting': about when the request left.
        this.markUnknown(job, found.updatedAt);
        report.unknown.push(job.id);
      } else {
        this.start(job);
        report.started.push(job.id);
      }
    }
    return report;
  }

  async cancel(id: string): Promise<FinalJob> {
    const job = this.d.store.require(id);
    const provider = getProvider(job.provider);
    switch (job.status) {
      case 'queued':
      case 'reserving': {
        const active = this.active.get(id);
        if (active) {
          active.controller.abort(new AppError('cancelled', 'Cancelled by the user before it was sent; nothing was sent.'));
          await active.done;
          return this.d.store.require(id);
        }
        if (this.ownedElsewhere(job)) throw runningElsewhere(job);
        return this.cancelUnsent(job);
      }
      case 'submitting':
        // Aborting a request in flight would leave it unknown whether it was accepted; ask once it answers.
        return this.requestCancel(job, `Being sent to ${provider.info.displayName}; it is cancelled there as soon as it is accepted.`) ?? this.cancel(id);
      case 'accepted': {
        if (!provider.cancel) {
          throw new AppError('invalid_input', `${provider.info.displayName} has no way to cancel a job it accepted, so this one will finish and be billed.`, {
            hint: 'ImageBench keeps polling and stores the image when it is ready.',
          });
        }
        const pending = job.pendingJob;
        if (!pending) throw new AppError('internal', `Accepted final job ${id} has no pending job.`);
        const apiKey = await this.resolveKey(provider.info.id, provider.info.keyRequired);
        const ctx = { apiKey, baseUrl: resolveBaseUrl(provider.info, this.d.env), fetch: this.d.fetch, signal: AbortSignal.timeout(60_000), retry: this.d.retry };
        try {
          await provider.cancel(pending, ctx);
        } catch (error) {
          throw new AppError('provider_error', `${provider.info.displayName} did not take the cancel: ${errorPayload(error, apiKey).message}`, {
            hint: 'The job keeps running and is polled to the end.',
          });
        }
        const marked = this.requestCancel(job, `Cancel sent to ${provider.info.displayName}; if it had already finished it is billed and kept.`);
        // The poller learns the outcome (cancelled, or finished first); start one if none runs here.
        if (marked && !this.active.has(id) && !this.ownedElsewhere(marked)) {
          const claimed = this.d.store.claim(id, marked.runner, this.runner, process.pid);
          if (claimed) this.track(id, (signal) => this.d.runner.follow(claimed, signal));
        }
        return this.d.store.require(id);
      }
      case 'unknown-submission':
        throw new AppError('invalid_input', 'This job may or may not have been accepted, so there is nothing ImageBench can cancel.', {
          hint: 'Check the provider dashboard, then release it (with the amount billed, if it was).',
        });
      default:
        throw new AppError('invalid_input', `This job already ${job.status === 'succeeded' ? 'succeeded' : `ended as ${job.status}`}; there is nothing to cancel.`);
    }
  }

  releaseUnknown(id: string, options: { billedUsd?: number }): FinalJob {
    const job = this.d.store.require(id);
    if (job.status !== 'unknown-submission') {
      throw new AppError('invalid_input', `Only a job whose submission is unknown can be released this way; this one is ${job.status}.`);
    }
    const ledgerId = job.ledgerRequestId ?? job.id;
    const billed = options.billedUsd;
    if (billed !== undefined && !(Number.isFinite(billed) && billed >= 0)) {
      throw new AppError('invalid_input', `The billed amount must be a number of dollars, zero or more, got ${billed}.`);
    }
    const wasBilled = billed !== undefined && billed > 0;
    const note = wasBilled
      ? `Released: the provider dashboard showed it billed ${formatUsd(billed)}, which the ledger records; no image came back to ImageBench.`
      : 'Released: the provider dashboard showed no such request, so the reservation went back to the budget.';
    const error = errorPayload(new AppError('cancelled', `The outcome of this submission was unknown. ${note}`));
    const ended = this.d.store.atomically('release the unknown submission', () => {
      const moved = this.d.store.transition(id, ['unknown-submission'], null, { status: 'failed', error, message: note, ...(wasBilled ? { actual: userReported(billed) } : {}) });
      if (!moved) throw new AppError('invalid_input', 'The job changed while it was being released; look at it again.');
      if (wasBilled) this.d.ledger.failBilled(ledgerId, userReported(billed), 'unknown submission: billed, per the provider dashboard');
      else this.d.ledger.release(ledgerId, 'unknown submission: not on the provider dashboard, released by the user');
      return moved;
    });
    this.d.emit('failed', ended);
    return ended;
  }

  /** Stops every job this process works on; `reason` tells the runner whether to end them or leave them. */
  async stopAll(reason: AppError): Promise<void> {
    const all = [...this.active.values()];
    for (const active of all) active.controller.abort(reason);
    await Promise.all(all.map((a) => a.done));
  }

  private track(id: string, work: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    const done = work(controller.signal).finally(() => {
      if (this.active.get(id)?.controller === controller) this.active.delete(id);
    });
    this.active.set(id, { controller, done });
  }

  private markUnknown(job: FinalJob, sentAt: number): void {
    const reserved = this.d.ledger.get(job.ledgerRequestId ?? job.id);
    const message = unknownSubmissionMessage({
      info: getProvider(job.provider).info,
      model: job.model,
      sentAt,
      reservedMicros: reserved?.status === 'reserved' ? reserved.reservedMicros : null,
      cause: 'crash',
    });
    const marked = this.d.store.transition(job.id, ['submitting'], this.runner, { status: 'unknown-submission', message });
    if (marked) this.d.emit('unknown-submission', marked);
  }

  /** A queued job no live process works on (its runner died): cancelled here, its reservation returned. */
  private cancelUnsent(job: FinalJob): FinalJob {
    const error = errorPayload(new AppError('cancelled', 'Cancelled by the user before it was sent; nothing was sent.'));
    const ended = this.d.store.atomically('cancel the unsent final', () => {
      const claimed = this.d.store.claim(job.id, job.runner, this.runner, process.pid);
      const moved = claimed && this.d.store.transition(job.id, ['queued', 'reserving'], this.runner, { status: 'cancelled', error, cancelRequestedAt: this.d.now() });
      if (!moved) throw new AppError('invalid_input', 'The job changed while it was being cancelled; look at it again.');
      const reservation = this.d.ledger.get(moved.ledgerRequestId ?? moved.id);
      if (reservation?.status === 'reserved') this.d.ledger.release(reservation.requestId, 'cancelled before sending');
      return moved;
    });
    this.d.emit('cancelled', ended);
    return ended;
  }

  /** Marks a job in flight for cancelling; null when it moved on meanwhile (the caller looks again). */
  private requestCancel(job: FinalJob, message: string): FinalJob | null {
    const marked = this.d.store.transition(job.id, [job.status], null, { cancelRequestedAt: this.d.now(), message });
    if (marked) this.d.emit('progress', marked);
    return marked;
  }

  /**
   * Another live process (the CLI next to the app) may be working on a job; it is left alone unless
   * it has shown no sign of life for `staleAfterMs` (its pid may since belong to someone else).
   */
  private ownedElsewhere(job: FinalJob): boolean {
    if (job.runner === this.runner || job.runnerPid === null || job.runnerPid === process.pid) return false;
    if (this.d.now() - job.updatedAt > this.d.staleAfterMs) return false;
    return processAlive(job.runnerPid);
  }

  private async resolveKey(provider: FinalJob['provider'], keyRequired: boolean): Promise<string | undefined> {
    try {
      return await this.d.keys.resolve(provider);
    } catch (error) {
      if (!keyRequired && error instanceof AppError && error.code === 'key_missing') return undefined;
      throw error;
    }
  }
}

function userReported(usd: number): ActualCost {
  return { usd, source: 'provider-reported', basis: 'read from the provider dashboard by the user after an unknown submission' };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user. ESRCH: gone.
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

function runningElsewhere(job: FinalJob): AppError {
  return new AppError('invalid_input', `This job is being run by another ImageBench process (pid ${job.runnerPid}).`, {
    hint: 'Cancel it from that process (the app or the CLI that started it), or wait for it to finish.',
  });
}
