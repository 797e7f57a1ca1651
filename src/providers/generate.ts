import { ProviderError } from './provider-error.js';
import { sleepFor } from './retry.js';
import type { DoneResult, GenerateRequest, ImageProvider, PendingJob, ProviderContext } from './types.js';

export interface GenerateOptions {
  pollIntervalMs?: number;
  /** Gives up polling (the job keeps running at the provider) after this long. */
  maxWaitMs?: number;
  /** Called once with the accepted job, before the first poll: persist it here so a crash resumes polling instead of re-sending. */
  onAccepted?: (job: PendingJob) => void | Promise<void>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** Polls an accepted job until it is done; a failed job throws its error. */
export async function waitForJob(provider: ImageProvider, job: PendingJob, ctx: ProviderContext, options: GenerateOptions = {}): Promise<DoneResult> {
  const sleep = options.sleep ?? sleepFor;
  const now = options.now ?? Date.now;
  const interval = options.pollIntervalMs ?? 1_000;
  const deadline = now() + (options.maxWaitMs ?? 10 * 60_000);
  let current = job;
  for (;;) {
    await sleep(interval, ctx.signal);
    const result = await provider.poll(current, ctx);
    if (result.kind === 'done') return result;
    if (result.kind === 'failed') throw result.error;
    current = result;
    if (now() > deadline) {
      throw new ProviderError(provider.info.id, 'provider_error', `${provider.info.displayName} job ${job.providerJobId} is still running after ${Math.round((options.maxWaitMs ?? 600_000) / 1000)} s.`, {
        retryable: true,
        hint: 'The job was not cancelled; polling can resume later with the same job id.',
      });
    }
  }
}

/** Submits once, then polls to the end: the whole life of one request. */
export async function generate(provider: ImageProvider, req: GenerateRequest, ctx: ProviderContext, options: GenerateOptions = {}): Promise<DoneResult> {
  const submitted = await provider.submit(req, ctx);
  if (submitted.kind === 'done') return submitted;
  await options.onAccepted?.(submitted);
  return waitForJob(provider, submitted, ctx, options);
}
