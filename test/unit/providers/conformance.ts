import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import type { ActualCost } from '../../../src/contract/money.js';
import { generate } from '../../../src/providers/generate.js';
import { ProviderError } from '../../../src/providers/provider-error.js';
import type { DoneResult, GenerateRequest, ImageProvider, ProviderContext } from '../../../src/providers/types.js';
import type { FakeServer, RouteKind } from '../../fakes/harness.js';

/**
 * The behaviour every provider owes the app, run against its loopback fake: images come back as bytes
 * with a cost, bad keys and refusals are not retried, 429/5xx are retried within bounds, malformed
 * answers and dropped connections become clear errors, and the key never shows up in any of them.
 */

export interface ConformanceSetup {
  provider: ImageProvider;
  start(key: string): Promise<FakeServer>;
  request: GenerateRequest;
  /** 'none' for servers without auth (ComfyUI). */
  auth: 'key' | 'none';
  /** Async providers answer submit with a job and are polled. */
  polled: boolean;
  /** Whether a 5xx answer to the submit may be re-sent (sync APIs, fal); async submits are never re-sent. */
  submitRetries5xx: boolean;
  /** Where the provider refuses content, or undefined when it has no moderation. */
  moderationOn?: RouteKind;
  expectCost(cost: ActualCost | undefined): void;
  /** Ideogram has no free account endpoint: its key check is a generate call that validation refuses. */
  verifyProbesSubmitRoute?: boolean;
  /** Credentials when the provider's key is not an opaque token (A1111: `user:pass`). */
  keys?: { valid: string; wrong: string };
}

export const DEFAULT_VALID_KEY = 'sk-test-VALID-0123456789abcdef';
export const DEFAULT_WRONG_KEY = 'sk-test-WRONG-fedcba9876543210';
export { DEFAULT_VALID_KEY as VALID_KEY, DEFAULT_WRONG_KEY as WRONG_KEY };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

export interface Harness {
  ctx(overrides?: Partial<ProviderContext>): ProviderContext;
  sleeps: number[];
}

export function contextFor(fake: FakeServer, key: string | undefined): Harness {
  const sleeps: number[] = [];
  return {
    sleeps,
    ctx: (overrides = {}) => ({
      apiKey: key,
      baseUrl: fake.url,
      fetch: globalThis.fetch,
      retry: {
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
        random: () => 0.5,
      },
      ...overrides,
    }),
  };
}

export const instantPolling = { sleep: () => Promise.resolve(), pollIntervalMs: 0 };

export async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** Every place a key could leak from an error: message, hint, payload JSON, own fields, the inspected cause chain. */
export function expectNoKeyIn(error: AppError, ...keys: string[]): void {
  const surfaces = [error.message, error.hint ?? '', JSON.stringify(error.toPayload()), JSON.stringify(error), inspect(error, { depth: 8 })];
  for (const key of keys) for (const surface of surfaces) expect(surface).not.toContain(key);
}

export function providerConformance(setup: ConformanceSetup): void {
  const { provider, request } = setup;
  const VALID_KEY = setup.keys?.valid ?? DEFAULT_VALID_KEY;
  const WRONG_KEY = setup.keys?.wrong ?? DEFAULT_WRONG_KEY;
  const name = provider.info.id;
  let fake: FakeServer;
  afterEach(async () => {
    await fake?.close();
  });
  const start = async (key = VALID_KEY): Promise<Harness & { fake: FakeServer }> => {
    fake = await setup.start(VALID_KEY);
    return { fake, ...contextFor(fake, setup.auth === 'none' ? undefined : key) };
  };
  const run = (h: Harness): Promise<DoneResult> => generate(provider, request, h.ctx(), instantPolling);

  describe(`${name} conformance`, () => {
    it('returns image bytes and an actual cost, submitting exactly once', async () => {
      const h = await start();
      const done = await run(h);
      expect(done.images.length).toBeGreaterThanOrEqual(1);
      for (const image of done.images) {
        expect(image.mime).toBe('image/png');
        expect([...image.bytes.slice(0, 4)]).toEqual(PNG_SIGNATURE);
      }
      setup.expectCost(done.actualCost);
      expect(h.fake.counts.submit).toBe(1);
    });

    if (setup.auth === 'key') {
      it('reports a wrong key as key_rejected, without retrying and without the key in the error', async () => {
        const h = { ...(await start(WRONG_KEY)) };
        const error = await failureOf(run(h));
        expect(error.code).toBe('key_rejected');
        expect(error.retryable).toBe(false);
        expect(error.hint).toContain(`imagebench keys test ${name}`);
        expect(h.fake.counts.submit).toBe(1);
        expectNoKeyIn(error, WRONG_KEY, VALID_KEY);
      });

      it('verifies a good key and refuses a bad one', async () => {
        const good = await start();
        await expect(provider.verifyKey(good.ctx())).resolves.toMatchObject({ ok: true });
        const bad = contextFor(good.fake, WRONG_KEY);
        const result = await provider.verifyKey(bad.ctx());
        expect(result.ok).toBe(false);
        expect(result.message).not.toContain(WRONG_KEY);
        expect(good.fake.counts.download).toBe(0);
        if (!setup.verifyProbesSubmitRoute) expect(good.fake.counts.submit).toBe(0);
      });

      it.runIf(provider.info.keyRequired)('reports a missing key as key_missing before sending anything', async () => {
        const h = await start();
        const error = await failureOf(provider.submit(request, h.ctx({ apiKey: undefined })));
        expect(error.code).toBe('key_missing');
        expect(h.fake.requests).toHaveLength(0);
      });
    } else {
      it('verifies that the server answers', async () => {
        const h = await start();
        await expect(provider.verifyKey(h.ctx())).resolves.toMatchObject({ ok: true });
      });
    }

    it('waits out a 429 for as long as Retry-After says, then succeeds', async () => {
      const h = await start();
      h.fake.inject('submit', { kind: 'rate_limit', retryAfter: '2' });
      const done = await run(h);
      expect(done.images.length).toBeGreaterThanOrEqual(1);
      expect(h.sleeps).toContain(2_000);
      expect(h.fake.counts.submit).toBe(2);
    });

    if (setup.submitRetries5xx) {
      it('retries a 5xx a bounded number of times, then gives up with a retryable error', async () => {
        const h = await start();
        h.fake.inject('submit', { kind: 'server_error' }, 100);
        const error = await failureOf(run(h));
        expect(error.code).toBe('provider_error');
        expect(error.retryable).toBe(true);
        expect(h.fake.counts.submit).toBe(4);
        expect(h.sleeps).toHaveLength(3);
      });
    } else {
      it('does not re-send a submit that got a 5xx (the job may exist and be billed)', async () => {
        const h = await start();
        h.fake.inject('submit', { kind: 'server_error' });
        const error = await failureOf(run(h));
        expect(error.code).toBe('provider_error');
        expect(h.fake.counts.submit).toBe(1);
      });
    }

    if (setup.polled) {
      it('retries a polling 5xx and still finishes the one job', async () => {
        const h = await start();
        h.fake.inject('poll', { kind: 'server_error' }, 2);
        const done = await run(h);
        expect(done.images.length).toBeGreaterThanOrEqual(1);
        expect(h.fake.counts.submit).toBe(1);
      });

      it('gives up polling after bounded 5xx retries with a retryable error', async () => {
        const h = await start();
        h.fake.inject('poll', { kind: 'server_error' }, 100);
        const error = await failureOf(run(h));
        expect(error).toMatchObject({ code: 'provider_error', retryable: true });
        expect(h.fake.counts.poll).toBe(4);
        expect(h.fake.counts.submit).toBe(1);
      });

      it('survives a dropped connection while polling', async () => {
        const h = await start();
        h.fake.inject('poll', { kind: 'drop' });
        const done = await run(h);
        expect(done.images.length).toBeGreaterThanOrEqual(1);
        expect(h.fake.counts.submit).toBe(1);
      });
    }

    const moderationOn = setup.moderationOn;
    if (moderationOn) {
      it('reports a moderation refusal clearly and does not retry it', async () => {
        const h = await start();
        h.fake.inject(moderationOn, { kind: 'moderation' });
        const error = await failureOf(run(h));
        expect(error.code).toBe('moderation');
        expect(error.retryable).toBe(false);
        expect(error.message).toContain(provider.info.displayName.split(' ')[0]);
        expect(h.fake.counts.submit).toBe(1);
        expect(h.sleeps).toHaveLength(0);
      });
    }

    it('turns a malformed answer into a clear provider_error', async () => {
      const h = await start();
      h.fake.inject('submit', { kind: 'malformed' });
      const error = await failureOf(run(h));
      expect(error.code).toBe('provider_error');
      expect(error.message).toMatch(/malformed/);
      expect(error.retryable).toBe(false);
      expect(h.fake.counts.submit).toBe(1);
    });

    it('reports a dropped connection on submit as a network error and does not re-send it', async () => {
      const h = await start();
      h.fake.inject('submit', { kind: 'drop' });
      const error = await failureOf(run(h));
      expect(error.code).toBe('network');
      expect(error.hint).toMatch(/not re-sent/);
      expect(h.fake.counts.submit).toBe(1);
    });

    it('stops waiting on a slow answer when the caller aborts', async () => {
      const h = await start();
      h.fake.inject('submit', { kind: 'slow', ms: 2_000 });
      const error = await failureOf(provider.submit(request, h.ctx({ signal: AbortSignal.timeout(100) })));
      expect(error.code).toBe('cancelled');
    });

    it('never puts the key into any error it throws', async () => {
      const h = await start();
      const errors: AppError[] = [];
      const moderation = setup.moderationOn;
      const faults = [
        () => h.fake.inject('submit', { kind: 'rate_limit', retryAfter: '1' }, 10),
        () => h.fake.inject('submit', { kind: 'server_error' }, 10),
        () => h.fake.inject('submit', { kind: 'malformed' }),
        () => h.fake.inject('submit', { kind: 'drop' }),
        ...(moderation ? [() => h.fake.inject(moderation, { kind: 'moderation' })] : []),
      ];
      for (const fault of faults) {
        h.fake.clearFaults();
        fault();
        errors.push(await failureOf(run(h)));
      }
      for (const error of errors) {
        expect(error).toBeInstanceOf(ProviderError);
        expectNoKeyIn(error, VALID_KEY);
      }
    });
  });
}
