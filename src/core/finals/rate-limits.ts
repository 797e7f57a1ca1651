import type { ProviderId } from '../../contract/providers.js';

/**
 * Client-side limits per provider, from the documented figures in
 * `shared/reference/cloud-providers.md` (compiled November 2026). Providers move these with account
 * tiers and credit, so every entry can be overridden (settings → the FinalsService `limits` option).
 */

/** What one request counts as: one, or as many as the images it asks for. */
export type LimitUnit = 'request' | 'image';

/**
 * At most `limit` units in any `windowMs`. Enforced as a token bucket holding `burst` tokens and
 * refilling at (limit − burst) / windowMs, so that even a full bucket plus a whole window of refill
 * stays within the limit: burst + (limit − burst) = limit.
 */
export interface RateLimit {
  limit: number;
  windowMs: number;
  burst: number;
  unit: LimitUnit;
}

/** At most `limit` units in flight (a task counts until it finishes, as BFL and Ideogram count them). */
export interface ConcurrencyLimit {
  limit: number;
  unit: LimitUnit;
}

export interface ProviderLimits {
  rate: RateLimit | null;
  concurrency: ConcurrencyLimit | null;
  /** Where the numbers come from, for `doctor` and the settings screen. */
  source: string;
}

export const DOCUMENTED_LIMITS: Readonly<Record<ProviderId, ProviderLimits>> = {
  openai: {
    rate: { limit: 5, windowMs: 60_000, burst: 2, unit: 'image' },
    concurrency: null,
    source:
      'reference §1: GPT image models, Tier 1 = 5 images/min (third-party copy of the model page; Tier 2 20, Tier 3 50, Tier 4 150, Tier 5 250). Raise it to your tier.',
  },
  stability: {
    rate: { limit: 150, windowMs: 10_000, burst: 30, unit: 'request' },
    concurrency: null,
    source: 'reference §2: 150 requests per 10 seconds per account (Stability REST docs).',
  },
  replicate: {
    rate: { limit: 600, windowMs: 60_000, burst: 60, unit: 'request' },
    concurrency: null,
    source: 'reference §3: create prediction 600 requests/min (accounts without a payment method: 6/min).',
  },
  fal: {
    rate: { limit: 10, windowMs: 1_000, burst: 2, unit: 'request' },
    concurrency: { limit: 2, unit: 'request' },
    source: 'reference §4: 2 concurrent requests for new accounts, rising to 40 with credit purchases; an older FAQ said 10 requests/s.',
  },
  bfl: {
    rate: null,
    concurrency: { limit: 24, unit: 'request' },
    source: 'reference §5: 24 active tasks per key (6 for Kontext Max); no request rate documented.',
  },
  ideogram: {
    rate: null,
    concurrency: { limit: 10, unit: 'image' },
    source: 'reference §6: 10 images in progress per organization (a 4-image request takes 4 slots).',
  },
  google: {
    rate: null,
    concurrency: null,
    source: 'reference §7: per-project RPM/IPM limits by usage tier, no figures published; set your own from the AI Studio quota page.',
  },
  leonardo: {
    rate: { limit: 100, windowMs: 60_000, burst: 10, unit: 'request' },
    concurrency: { limit: 10, unit: 'request' },
    source: 'reference §8: 100/min on POST /generations, 10 concurrent image jobs.',
  },
  comfyui: {
    rate: null,
    concurrency: null,
    source: 'reference §11.1: a local server with its own queue; no limits.',
  },
  a1111: {
    rate: null,
    concurrency: { limit: 1, unit: 'request' },
    source: 'reference §11.2: one job at a time behind a queue lock.',
  },
  midjourney: {
    rate: null,
    concurrency: null,
    source: 'reference §10: no official API; nothing is ever sent.',
  },
};

/** How many jobs run at once across all providers unless the host says otherwise. */
export const DEFAULT_MAX_CONCURRENT = 8;
