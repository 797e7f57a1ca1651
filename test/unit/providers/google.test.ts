import { afterEach, describe, expect, it } from 'vitest';
import { googleProvider } from '../../../src/providers/google.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startGoogleFake, type GoogleFake } from '../../fakes/google.js';
import { contextFor, failureOf, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'gemini-3.1-flash-image', prompt: 'a watercolor map of a small island', width: 1024, height: 1024, n: 1 };

providerConformance({
  provider: googleProvider,
  start: startGoogleFake,
  request,
  auth: 'key',
  polled: false,
  submitRetries5xx: true,
  moderationOn: 'submit',
  // 1120 image tokens × $60/1M; the table has no input-token price for this model, and says so.
  expectCost: (cost) => expect(cost).toEqual({ usd: 0.0672, source: 'provider-reported', basis: expect.stringContaining('text in tokens not priced') }),
});

describe('google specifics', () => {
  let fake: GoogleFake;
  afterEach(() => fake.close());

  it('sends x-goog-api-key, IMAGE modality, aspect ratio and image size', async () => {
    fake = await startGoogleFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    await googleProvider.submit({ ...request, width: 2048, height: 1152 }, ctx());
    expect(fake.requests[0]?.headers['x-goog-api-key']).toBe(VALID_KEY);
    expect(fake.requests[0]?.json()).toMatchObject({
      contents: [{ parts: [{ text: request.prompt }] }],
      generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9', imageSize: '2K' } },
    });
  });

  it('uses the RetryInfo delay from a 429 body when there is no Retry-After header', async () => {
    fake = await startGoogleFake(VALID_KEY);
    const h = contextFor(fake, VALID_KEY);
    fake.inject('submit', { kind: 'rate_limit' });
    await googleProvider.submit(request, h.ctx());
    expect(h.sleeps).toEqual([3_000]);
  });

  it('reports Imagen, shut down on the Gemini API, as model_invalid', async () => {
    fake = await startGoogleFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const error = await failureOf(googleProvider.submit({ ...request, model: 'imagen-4.0-generate-001' }, ctx()));
    expect(error).toMatchObject({ code: 'model_invalid', retryable: false });
    expect(googleProvider.models().find((m) => m.id === 'imagen-4.0-generate-001')?.lifecycle).toMatchObject({ status: 'retired', shutdownOn: '2026-08-17' });
  });

  it('still speaks :predict where a key reaches Imagen, and treats all-filtered as moderation', async () => {
    fake = await startGoogleFake(VALID_KEY);
    fake.state.imagenStillServed = true;
    const { ctx } = contextFor(fake, VALID_KEY);
    const done = await googleProvider.submit({ ...request, model: 'imagen-4.0-fast-generate-001', n: 3 }, ctx());
    expect(done.kind === 'done' && done.images).toHaveLength(3);
    expect(done.kind === 'done' && done.actualCost).toMatchObject({ usd: 0.06, source: 'price-table' });
    fake.state.imagenFiltersAll = true;
    await expect(googleProvider.submit({ ...request, model: 'imagen-4.0-fast-generate-001' }, ctx())).rejects.toMatchObject({ code: 'moderation' });
  });

  it('estimates Gemini images by image size', () => {
    expect(googleProvider.estimate(request)).toMatchObject({ kind: 'exact', usd: 0.067 });
    expect(googleProvider.estimate({ ...request, quality: '4K', model: 'gemini-3-pro-image' })).toMatchObject({ kind: 'exact', usd: 0.24 });
    expect(googleProvider.estimate({ ...request, model: 'gemini-2.5-flash-image', n: 2 })).toMatchObject({ kind: 'range', minUsd: 0.0774, maxUsd: expect.closeTo(0.078 + 34 * 0.3e-6, 8) });
  });
});
