import { AppError } from '../../contract/errors.js';
import type { ProviderId } from '../../contract/providers.js';
import { sleepFor } from '../../providers/retry.js';
import { DEFAULT_MAX_CONCURRENT, DOCUMENTED_LIMITS, type ConcurrencyLimit, type LimitUnit, type ProviderLimits, type RateLimit } from './rate-limits.js';

/**
 * A token bucket that keeps "at most `limit` in any window of `windowMs`" exactly: it holds `burst`
 * tokens and refills at (limit − burst) per window. Amounts are kept in integer "token-milliseconds"
 * (one token = windowMs units, refill = limit − burst units per ms), so with an integer clock there is
 * no floating-point drift that could let one request too many through.
 */
export class TokenBucket {
  private units: number;
  private last: number;
  private readonly capacity: number;
  private readonly refillPerMs: number;

  constructor(
    readonly rate: RateLimit,
    now: number,
  ) {
    assertRate(rate);
    this.capacity = rate.burst * rate.windowMs;
    this.refillPerMs = rate.limit - rate.burst;
    this.units = this.capacity;
    this.last = now;
  }

  /** Takes `cost` tokens and returns 0, or returns how many ms to wait before they will be there. */
  take(cost: number, now: number): number {
    if (cost > this.rate.burst) throw new AppError('internal', `A request costing ${cost} can never fit a bucket of ${this.rate.burst}; ProviderLimiter.check refuses it first.`);
    this.refill(now);
    const needed = cost * this.rate.windowMs;
    if (this.units >= needed) {
      this.units -= needed;
      return 0;
    }
    return Math.max(1, Math.ceil((needed - this.units) / this.refillPerMs));
  }

  private refill(now: number): void {
    // A clock that steps back (NTP) must not mint tokens; the elapsed time is simply not counted.
    const elapsed = Math.max(0, now - this.last);
    this.units = Math.min(this.capacity, this.units + elapsed * this.refillPerMs);
    this.last = Math.max(this.last, now);
  }
}

function assertRate(rate: RateLimit): void {
  const ok = [rate.limit, rate.windowMs, rate.burst].every((v) => Number.isSafeInteger(v) && v > 0) && rate.burst < rate.limit;
  if (!ok) {
    throw new AppError('invalid_input', `A rate limit needs whole positive numbers with burst below limit (got ${rate.limit} per ${rate.windowMs} ms, burst ${rate.burst}).`, {
      hint: 'For example { limit: 600, windowMs: 60000, burst: 60 }; the bucket refills at (limit − burst) per window so no window ever passes the limit.',
    });
  }
}

function assertCapacity(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new AppError('invalid_input', `A concurrency limit must be a whole number of at least 1, got ${capacity}.`);
}

/** A weighted semaphore, first come first served (a big request is not starved by small ones). */
export class Slots {
  private used = 0;
  private readonly waiting: Array<{ weight: number; grant: () => void }> = [];

  constructor(readonly capacity: number) {
    assertCapacity(capacity);
  }

  get inUse(): number {
    return this.used;
  }

  acquire(weight: number, signal?: AbortSignal): Promise<void> {
    if (weight > this.capacity) return Promise.reject(new AppError('internal', `A weight of ${weight} can never fit ${this.capacity} slots.`));
    if (this.waiting.length === 0 && this.used + weight <= this.capacity) {
      this.used += weight;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelledWhileQueued());
        return;
      }
      const entry = {
        weight,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(cancelledWhileQueued());
        this.drain();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(weight: number): void {
    this.used = Math.max(0, this.used - weight);
    this.drain();
  }

  private drain(): void {
    for (let head = this.waiting[0]; head && this.used + head.weight <= this.capacity; head = this.waiting[0]) {
      this.waiting.shift();
      this.used += head.weight;
      head.grant();
    }
  }
}

function cancelledWhileQueued(): AppError {
  return new AppError('cancelled', 'The final was cancelled while it waited in the queue; nothing was sent.');
}

/** Per-provider changes to the documented limits; `null` turns a limit off. */
export interface LimitOverride {
  rate?: RateLimit | null;
  concurrency?: ConcurrencyLimit | null;
}

export interface ProviderLimiterOptions {
  overrides?: Partial<Record<ProviderId, LimitOverride>>;
  /** Jobs in flight across every provider. */
  maxConcurrent?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Who may send now: a concurrency cap per provider and overall (held from submit until the job ends,
 * because providers count a task until it finishes), then a token from the provider's bucket right
 * before the request goes out.
 */
export class ProviderLimiter {
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly overall: Slots;
  private readonly buckets = new Map<ProviderId, TokenBucket>();
  private readonly slots = new Map<ProviderId, Slots>();

  constructor(private readonly options: ProviderLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleepFor;
    this.overall = new Slots(options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
    // Bad overrides are refused when settings are applied, not when a paid job first meets them.
    for (const override of Object.values(options.overrides ?? {})) {
      if (override?.rate) assertRate(override.rate);
      if (override?.concurrency) assertCapacity(override.concurrency.limit);
    }
  }

  limitsFor(provider: ProviderId): ProviderLimits {
    const documented = DOCUMENTED_LIMITS[provider];
    const override = this.options.overrides?.[provider];
    if (!override) return documented;
    return {
      rate: override.rate === undefined ? documented.rate : override.rate,
      concurrency: override.concurrency === undefined ? documented.concurrency : override.concurrency,
      source: `${documented.source} Overridden in settings.`,
    };
  }

  /** Refuses, before anything is reserved or sent, a request that no wait could ever let through. */
  check(provider: ProviderId, images: number): void {
    const limits = this.limitsFor(provider);
    const rate = limits.rate;
    if (rate && weightOf(rate.unit, images) > rate.burst) {
      throw new AppError('invalid_input', `${images} images in one request is more than the ${provider} rate limit lets through at once (${rate.burst} of ${rate.limit} per ${rate.windowMs / 1000} s).`, {
        hint: `Ask for ${rate.burst} or fewer images per request, or raise the ${provider} limit in settings if your account allows more (${limits.source})`,
      });
    }
    const concurrency = limits.concurrency;
    if (concurrency && weightOf(concurrency.unit, images) > concurrency.limit) {
      throw new AppError('invalid_input', `${images} images is more than ${provider} runs at once (${concurrency.limit} ${concurrency.unit}s).`, {
        hint: `Ask for ${concurrency.limit} or fewer images per request, or raise the limit in settings (${limits.source})`,
      });
    }
  }

  /** Waits for a slot with the provider, then one overall; call the returned function when the job ends. */
  async acquireSlot(provider: ProviderId, images: number, signal?: AbortSignal): Promise<() => void> {
    const concurrency = this.limitsFor(provider).concurrency;
    const own = concurrency ? this.slotsFor(provider, concurrency.limit) : null;
    const weight = concurrency ? weightOf(concurrency.unit, images) : 0;
    // Provider first: a job waiting on a busy provider must not hold one of the overall slots.
    if (own) await own.acquire(weight, signal);
    try {
      await this.overall.acquire(1, signal);
    } catch (error) {
      own?.release(weight);
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.overall.release(1);
      own?.release(weight);
    };
  }

  /** Waits until the provider's bucket has a token for this request, and takes it; `onWait` hears each wait. */
  async takeToken(provider: ProviderId, images: number, signal?: AbortSignal, onWait?: (ms: number, rate: RateLimit) => void): Promise<void> {
    const rate = this.limitsFor(provider).rate;
    if (!rate) return;
    let bucket = this.buckets.get(provider);
    if (!bucket) {
      bucket = new TokenBucket(rate, this.now());
      this.buckets.set(provider, bucket);
    }
    const cost = weightOf(rate.unit, images);
    for (let wait = bucket.take(cost, this.now()); wait > 0; wait = bucket.take(cost, this.now())) {
      onWait?.(wait, rate);
      try {
        await this.sleep(wait, signal);
      } catch {
        // Aborted while waiting for a token: nothing was sent.
        throw cancelledWhileQueued();
      }
    }
  }

  private slotsFor(provider: ProviderId, limit: number): Slots {
    let slots = this.slots.get(provider);
    if (!slots) {
      slots = new Slots(limit);
      this.slots.set(provider, slots);
    }
    return slots;
  }
}

function weightOf(unit: LimitUnit, images: number): number {
  return unit === 'image' ? images : 1;
}
