import { AppError } from '../contract/errors.js';
import { ProviderError } from './provider-error.js';

export interface RetryOptions {
  /** Total tries, the first one included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A server asking for a longer wait than this is not waited for; the error goes to the caller to reschedule. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Returns [0, 1); injectable so tests see deterministic jitter. */
  random?: () => number;
}

export const DEFAULT_RETRY = {
  attempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
} as const;

/** Which failures a call may be re-sent after; submits that may have been billed use a narrower rule. */
export type RetryRule = (error: AppError) => boolean;

export const retryWhenRetryable: RetryRule = (error) => error.retryable;

/** For POSTs that may create a billed job: only a rate-limit rejection proves nothing was accepted. */
export const retryOnlyRateLimits: RetryRule = (error) => error.code === 'rate_limited' && error.retryable;

export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with equal jitter: half the step is fixed, half random. */
export function backoffDelayMs(retryIndex: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const random = options.random ?? Math.random;
  const step = Math.min(cap, base * 2 ** retryIndex);
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * Runs `call` until it succeeds, fails with an error `rule` says not to retry, or runs out of
 * attempts. A server's Retry-After wins over backoff.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: RetryOptions & { rule?: RetryRule; signal?: AbortSignal } = {},
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_RETRY.attempts);
  const rule = options.rule ?? retryWhenRetryable;
  const sleep = options.sleep ?? sleepFor;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof AppError) || !rule(error) || attempt >= attempts) throw error;
      const hinted = error instanceof ProviderError ? error.retryAfterMs : undefined;
      if (hinted !== undefined && hinted > maxRetryAfterMs) throw error;
      try {
        await sleep(hinted ?? backoffDelayMs(attempt - 1, options), options.signal);
      } catch {
        // Aborted while waiting to retry: the caller gave up; say so, with what was failing.
        throw new AppError('cancelled', `Cancelled while waiting to retry: ${error.message}`, { hint: error.hint });
      }
    }
  }
}
