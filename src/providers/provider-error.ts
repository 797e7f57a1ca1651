import { AppError, type ErrorCode } from '../contract/errors.js';
import type { ActualCost } from '../contract/money.js';
import type { ProviderId } from './types.js';

export interface ProviderErrorOptions {
  hint?: string;
  retryable?: boolean;
  cause?: unknown;
  /** HTTP status, when the failure came with a response. */
  status?: number;
  /** How long the provider asked us to wait (Retry-After and friends). */
  retryAfterMs?: number;
  requestId?: string;
  /** Money already spent although the call failed (Stability bills a CONTENT_FILTERED result). */
  actualCost?: ActualCost;
}

/** An AppError that also says which provider failed and how it wants to be retried. */
export class ProviderError extends AppError {
  readonly provider: ProviderId;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  readonly actualCost: ActualCost | undefined;

  constructor(provider: ProviderId, code: ErrorCode, message: string, options: ProviderErrorOptions = {}) {
    super(code, message, { hint: options.hint, retryable: options.retryable, cause: options.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.requestId = options.requestId;
    this.actualCost = options.actualCost;
  }
}

/** Removes every occurrence of the key from text that came from a provider (some echo it back). */
export function redactKey(text: string, apiKey: string | undefined): string {
  if (!apiKey || apiKey.length < 4) return text;
  return text.split(apiKey).join('[redacted key]');
}
