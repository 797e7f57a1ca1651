/**
 * Live mode: previews follow the prompt as the user types. Each change replaces the wanted request
 * and aborts the run in flight (its picture is already stale; the engine stops it at its next
 * step); a run starts only once the changes pause for the debounce. Nothing queues: at most one
 * run is in flight and only the newest request is ever started, so a burst of typing ends in
 * exactly one full render, of the final prompt.
 */
import { GenerationCancelledError, type GenerateRequest, type GenerateResult, type LocalEngine, type StepProgress } from '../../../native-models/src/engine.js';
import { AppError } from '../../contract/errors.js';

export const DEFAULT_LIVE_DEBOUNCE_MS = 250;

export interface LivePreviewOptions {
  readonly engine: Pick<LocalEngine, 'generate'>;
  /** Quiet time after the last change before a render starts (settings `preview.debounceMs`). */
  readonly debounceMs?: number;
  /** A finished render of the newest request. */
  readonly onRender: (result: GenerateResult, request: GenerateRequest) => void;
  /** Steps (and latent previews) of the run in flight. */
  readonly onProgress?: (progress: StepProgress, request: GenerateRequest) => void;
  /** A render that failed for a reason other than being replaced. */
  readonly onError?: (error: unknown, request: GenerateRequest) => void;
}

export interface LivePreviewStats {
  readonly changes: number;
  readonly started: number;
  readonly completed: number;
  /** Runs stopped because a newer change arrived. */
  readonly aborted: number;
  /** Runs that finished although a newer change had arrived (the abort came after their last step); not shown. */
  readonly discarded: number;
  readonly failed: number;
  /**
   * Per aborted run: steps that finished after the abort reached it (≤ 1 means "within one
   * step"), as the engine counts it; progress events still in transit are not counted against it.
   */
  readonly abortLatencySteps: readonly number[];
}

interface Run {
  readonly request: GenerateRequest;
  readonly controller: AbortController;
  /** Progress events received after the abort: the fallback count for engines that do not report one. */
  stepsAfterAbort: number;
  readonly settled: Promise<void>;
}

export class LivePreview {
  private readonly debounceMs: number;
  private wanted: GenerateRequest | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Run | null = null;
  /** The debounce ended while an aborted run was still winding down: start as soon as it settles. */
  private startWhenSettled = false;
  private disposed = false;
  private counts = { changes: 0, started: 0, completed: 0, aborted: 0, discarded: 0, failed: 0 };
  private readonly latencies: number[] = [];

  constructor(private readonly options: LivePreviewOptions) {
    this.debounceMs = options.debounceMs ?? DEFAULT_LIVE_DEBOUNCE_MS;
    if (!Number.isFinite(this.debounceMs) || this.debounceMs < 0) {
      throw new AppError('invalid_input', `Live preview debounce must be 0 ms or more; got ${this.debounceMs}`, { hint: 'Set preview.debounceMs to e.g. 250.' });
    }
  }

  /** The prompt (or any setting) changed: this request is now the only one worth rendering. */
  update(request: GenerateRequest): void {
    if (this.disposed) return;
    this.counts.changes++;
    this.wanted = request;
    this.abortInFlight();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.debounced(), this.debounceMs);
  }

  stats(): LivePreviewStats {
    return { ...this.counts, abortLatencySteps: [...this.latencies] };
  }

  /** Resolves when no change is waiting and no run is in flight. */
  async idle(): Promise<void> {
    while (this.timer !== null || this.inFlight !== null || this.startWhenSettled) {
      if (this.inFlight !== null) await this.inFlight.settled;
      else await new Promise((resolve) => setTimeout(resolve, Math.max(1, this.debounceMs / 4)));
    }
  }

  /** Stops everything; later changes are ignored. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.startWhenSettled = false;
    this.abortInFlight();
    await this.inFlight?.settled;
  }

  private debounced(): void {
    this.timer = null;
    if (this.inFlight !== null) this.startWhenSettled = true;
    else this.start();
  }

  private start(): void {
    const request = this.wanted;
    if (request === null || this.disposed) return;
    this.wanted = null;
    this.counts.started++;
    const controller = new AbortController();
    const run: Run = {
      request,
      controller,
      stepsAfterAbort: 0,
      settled: this.options.engine
        .generate(request, {
          signal: controller.signal,
          onProgress: (progress) => {
            if (controller.signal.aborted) run.stepsAfterAbort++;
            else this.options.onProgress?.(progress, request);
          },
        })
        .then(
          (result) => {
            if (controller.signal.aborted) this.counts.discarded++;
            else {
              this.counts.completed++;
              this.options.onRender(result, request);
            }
          },
          (error: unknown) => {
            if (error instanceof AppError && error.code === 'cancelled') {
              this.counts.aborted++;
              this.latencies.push(error instanceof GenerationCancelledError ? error.stepsAfterCancel : run.stepsAfterAbort);
            } else {
              this.counts.failed++;
              this.options.onError?.(error, request);
            }
          },
        )
        .finally(() => this.settle(run)),
    };
    this.inFlight = run;
  }

  private settle(run: Run): void {
    if (this.inFlight === run) this.inFlight = null;
    if (this.startWhenSettled) {
      this.startWhenSettled = false;
      this.start();
    }
  }

  private abortInFlight(): void {
    if (this.inFlight !== null && !this.inFlight.controller.signal.aborted) this.inFlight.controller.abort();
  }
}
