import { afterEach, describe, expect, it } from 'vitest';
import { openaiProvider } from '../../../src/providers/openai.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startOpenAIFake, type OpenAIFake } from '../../fakes/openai.js';
import { contextFor, failureOf, providerConformance, VALID_KEY, WRONG_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'gpt-image-1.5', prompt: 'a lighthouse at dusk', width: 1024, height: 1024, n: 2, quality: 'high' };

providerConformance({
  provider: openaiProvider,
  start: startOpenAIFake,
  request,
  auth: 'key',
  polled: false,
  submitRetries5xx: true,
  moderationOn: 'submit',
  expectCost(cost) {
    // usage: 2 × 4160 image-out tokens × $32/1M + 5 text tokens × $5/1M
    expect(cost).toEqual({ usd: 0.266265, source: 'provider-reported', basis: expect.stringContaining('8320 image out') });
  },
});

describe('openai specifics', () => {
  let fake: OpenAIFake;
  afterEach(() => fake.close());

  it('sends the nearest supported size and the quality, as JSON with a Bearer key', async () => {
    fake = await startOpenAIFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    await openaiProvider.submit({ ...request, width: 1600, height: 1000, n: 1 }, ctx());
    const sent = fake.requests[0];
    expect(sent?.headers.authorization).toBe(`Bearer ${VALID_KEY}`);
    expect(sent?.json()).toMatchObject({ model: 'gpt-image-1.5', size: '1536x1024', quality: 'high', n: 1 });
  });

  it('sends an input image to /images/edits as multipart', async () => {
    fake = await startOpenAIFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const init = new Uint8Array(Buffer.from('89504e470d0a1a0a0000', 'hex'));
    const done = await openaiProvider.submit({ ...request, n: 1, initImage: { bytes: init, mime: 'image/png' } }, ctx());
    expect(done.kind).toBe('done');
    expect(fake.requests[0]?.url.pathname).toBe('/v1/images/edits');
    const form = await fake.requests[0]?.form();
    expect(form?.get('model')).toBe('gpt-image-1.5');
    expect(form?.get('image[]')).toBeInstanceOf(Blob);
  });

  it('redacts a wrong key the API echoes back in its message', async () => {
    fake = await startOpenAIFake(VALID_KEY);
    const { ctx } = contextFor(fake, WRONG_KEY);
    const error = await failureOf(openaiProvider.submit(request, ctx()));
    expect(error.message).toContain('Incorrect API key provided: [redacted key]');
    expect(error.message).not.toContain(WRONG_KEY);
  });

  it('reports a retired model as model_invalid, not retried', async () => {
    fake = await startOpenAIFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const error = await failureOf(openaiProvider.submit({ ...request, model: 'gpt-image-1' }, ctx()));
    expect(error).toMatchObject({ code: 'model_invalid', retryable: false });
    expect(error.message).toContain('gpt-image-1');
    expect(fake.counts.submit).toBe(1);
  });

  it('downloads a DALL·E url-mode result at once and prices it from the table', async () => {
    fake = await startOpenAIFake(VALID_KEY);
    fake.servedAnyway.add('dall-e-3');
    const { ctx } = contextFor(fake, VALID_KEY);
    const done = await openaiProvider.submit(
      { model: 'dall-e-3', prompt: 'a fox', width: 1792, height: 1024, n: 1, quality: 'hd', providerOptions: { response_format: 'url' } },
      ctx(),
    );
    expect(done.kind === 'done' && done.images[0]?.mime).toBe('image/png');
    expect(fake.counts.download).toBe(1);
    expect(done.kind === 'done' && done.actualCost).toMatchObject({ usd: 0.12, source: 'price-table' });
  });

  it('does not retry an insufficient_quota 429 (money, not rate)', async () => {
    fake = await startOpenAIFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    fake.state.quotaExhausted = true;
    const error = await failureOf(openaiProvider.submit(request, ctx()));
    expect(error).toMatchObject({ code: 'provider_error', retryable: false });
    expect(error.message).toMatch(/out of quota/);
    expect(fake.counts.submit).toBe(1);
  });

  it('estimates a range for auto quality and exact-ish bounds for a fixed one, n included', () => {
    const auto = openaiProvider.estimate({ ...request, quality: undefined, n: 1 });
    expect(auto.kind).toBe('range');
    const high = openaiProvider.estimate(request);
    // 2 × $0.133 published = 2 × 4160 tokens × $32/1M (0.13312): a tight range plus prompt tokens.
    expect(high).toMatchObject({ kind: 'range', minUsd: 0.266, maxUsd: expect.closeTo(0.26634, 4) });
  });
});
