import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import type { ProviderId } from '../../../src/contract/providers.js';
import { ProviderLimiter, Slots, TokenBucket } from '../../../src/core/finals/rate-limiter.js';
import { DOCUMENTED_LIMITS, type RateLimit } from '../../../src/core/finals/rate-limits.js';
import { busiestWindow, type Grant } from '../../helpers/rate-window.js';

/** A deterministic stream of numbers in [0, 1) (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * 10,000 requests, each waiting for its token in turn. `bursty`: arrivals mostly faster than the limit
 * with the odd lull, so the bucket is drained and refilled again and again; `saturated`: all at once.
 */
function simulate(rate: RateLimit, seed: number, pattern: 'bursty' | 'saturated' = 'bursty', requests = 10_000): Grant[] {
  const random = seeded(seed);
  const bucket = new TokenBucket(rate, 0);
  const grants: Grant[] = [];
  let now = 0;
  const gap = rate.windowMs / rate.limit;
  for (let i = 0; i < requests; i++) {
    if (pattern === 'bursty') now += Math.floor(random() < 0.03 ? random() * gap * 30 : random() * gap * 0.5);
    const cost = rate.unit === 'image' ? 1 + Math.floor(random() * rate.burst) : 1;
    for (let wait = bucket.take(cost, now); wait > 0; wait = bucket.take(cost, now)) now += wait;
    grants.push({ at: now, cost });
  }
  return grants;
}

const limited = (Object.entries(DOCUMENTED_LIMITS) as Array<[ProviderId, (typeof DOCUMENTED_LIMITS)[ProviderId]]>).flatMap(([id, l]) => (l.rate ? [{ id, rate: l.rate }] : []));

describe('the token bucket', () => {
  it.each(limited)('$id: 10,000 simulated requests never pass the documented limit in any window', ({ rate }) => {
    const grants = simulate(rate, 7);
    expect(grants).toHaveLength(10_000);
    const busiest = busiestWindow(grants, rate.windowMs);
    expect(busiest).toBeLessThanOrEqual(rate.limit);
    // The load is heavy enough that some window comes right up to the limit: the check has teeth.
    expect(busiest).toBeGreaterThanOrEqual(rate.limit - (rate.unit === 'image' ? rate.burst : 1));
    // And it is not timid: with everyone waiting, it lets through the sustained rate it promises.
    const saturated = simulate(rate, 7, 'saturated');
    expect(busiestWindow(saturated, rate.windowMs)).toBeLessThanOrEqual(rate.limit);
    const units = saturated.reduce((s, g) => s + g.cost, 0);
    const span = saturated.at(-1)?.at ?? 0;
    const sustained = (rate.limit - rate.burst) / rate.windowMs;
    expect(units / span).toBeGreaterThan(sustained * 0.95);
    expect(units / span).toBeLessThanOrEqual(rate.limit / rate.windowMs);
  });

  it('holds a tight custom limit across seeds and a clock that steps back', () => {
    const rate: RateLimit = { limit: 3, windowMs: 1_000, burst: 2, unit: 'request' };
    for (const seed of [1, 2, 3]) expect(busiestWindow(simulate(rate, seed), rate.windowMs)).toBeLessThanOrEqual(3);
    const bucket = new TokenBucket(rate, 10_000);
    expect([bucket.take(1, 10_000), bucket.take(1, 10_000)]).toEqual([0, 0]);
    // NTP moving the clock back must not mint tokens.
    expect(bucket.take(1, 5_000)).toBeGreaterThan(0);
    expect(bucket.take(1, 10_500)).toBe(500);
    expect(bucket.take(1, 11_000)).toBe(0);
  });

  it('refuses limits that could not hold (burst at or above the limit)', () => {
    expect(() => new TokenBucket({ limit: 10, windowMs: 1_000, burst: 10, unit: 'request' }, 0)).toThrow(AppError);
    expect(() => new ProviderLimiter({ overrides: { fal: { rate: { limit: 0, windowMs: 1_000, burst: 0, unit: 'request' } } } })).toThrow(/whole positive numbers/);
  });
});

describe('the provider limiter', () => {
  it('spaces 10,000 sends on an injected clock within the documented limit', async () => {
    let now = 0;
    const limiter = new ProviderLimiter({
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    const rate = DOCUMENTED_LIMITS.replicate.rate;
    if (!rate) throw new Error('replicate has a documented rate');
    const grants: Grant[] = [];
    // Eight senders at once, as eight jobs would be.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 1_250; i++) {
          await limiter.takeToken('replicate', 1);
          grants.push({ at: now, cost: 1 });
        }
      }),
    );
    grants.sort((a, b) => a.at - b.at);
    expect(grants).toHaveLength(10_000);
    expect(busiestWindow(grants, rate.windowMs)).toBeLessThanOrEqual(rate.limit);
  });

  it('counts images where the provider limits images, and refuses a request no wait could let through', async () => {
    let now = 0;
    const limiter = new ProviderLimiter({ now: () => now, sleep: async (ms) => void (now += ms) });
    await limiter.takeToken('openai', 2);
    await limiter.takeToken('openai', 1);
    // Tier 1: 2 images at once, then 3 more per minute.
    expect(now).toBe(20_000);
    expect(() => limiter.check('openai', 4)).toThrow(/more than the openai rate limit lets through at once/);
    expect(() => limiter.check('ideogram', 11)).toThrow(/more than ideogram runs at once/);
    expect(() => limiter.check('replicate', 4)).not.toThrow();
    const raised = new ProviderLimiter({ overrides: { openai: { rate: { limit: 50, windowMs: 60_000, burst: 10, unit: 'image' } } } });
    expect(() => raised.check('openai', 4)).not.toThrow();
    expect(raised.limitsFor('openai').source).toMatch(/Overridden in settings/);
  });

  it('never runs more than a provider allows, or more than the overall cap', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 3 });
    let fal = 0;
    let all = 0;
    let worstFal = 0;
    let worstAll = 0;
    const run = async (provider: ProviderId): Promise<void> => {
      const release = await limiter.acquireSlot(provider, 1);
      if (provider === 'fal') worstFal = Math.max(worstFal, ++fal);
      worstAll = Math.max(worstAll, ++all);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (provider === 'fal') fal--;
      all--;
      release();
    };
    await Promise.all(Array.from({ length: 60 }, (_, i) => run(i % 2 === 0 ? 'fal' : 'bfl')));
    expect(worstFal).toBe(DOCUMENTED_LIMITS.fal.concurrency?.limit);
    expect(worstAll).toBe(3);
  });

  it('lets a queued job be cancelled without taking its place', async () => {
    const slots = new Slots(1);
    await slots.acquire(1);
    const controller = new AbortController();
    const waiting = slots.acquire(1, controller.signal);
    const next = slots.acquire(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'cancelled' });
    slots.release(1);
    await next;
    expect(slots.inUse).toBe(1);
  });
});
