import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/providers/provider-error.js';
import { stabilityProvider } from '../../../src/providers/stability.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startStabilityFake, type StabilityFake } from '../../fakes/stability.js';
import { contextFor, failureOf, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'core', prompt: 'a red bicycle in the rain', width: 1344, height: 768, n: 1, seed: 7 };

providerConformance({
  provider: stabilityProvider,
  start: startStabilityFake,
  request,
  auth: 'key',
  polled: false,
  submitRetries5xx: true,
  moderationOn: 'submit',
  expectCost: (cost) => expect(cost).toEqual({ usd: 0.03, source: 'price-table', basis: expect.stringContaining('3 credits') }),
});

describe('stability specifics', () => {
  let fake: StabilityFake;
  afterEach(() => fake.close());

  it('sends multipart with the nearest aspect ratio, the seed and Accept: image/*', async () => {
    fake = await startStabilityFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const done = await stabilityProvider.submit(request, ctx());
    expect(done.kind === 'done' && done.images[0]?.seed).toBe(7);
    const sent = fake.requests[0];
    expect(sent?.headers.accept).toBe('image/*');
    const form = await sent?.form();
    expect(form?.get('aspect_ratio')).toBe('16:9');
    expect(form?.get('seed')).toBe('7');
    expect(form?.get('output_format')).toBe('png');
  });

  it('posts SD 3.5 to the sd3 endpoint with the model and image-to-image mode', async () => {
    fake = await startStabilityFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const init = { bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mime: 'image/png', strength: 0.4 };
    await stabilityProvider.submit({ ...request, model: 'sd3.5-large-turbo', initImage: init }, ctx());
    expect(fake.requests[0]?.url.pathname).toBe('/v2beta/stable-image/generate/sd3');
    const form = await fake.requests[0]?.form();
    expect(form?.get('model')).toBe('sd3.5-large-turbo');
    expect(form?.get('mode')).toBe('image-to-image');
    expect(form?.get('strength')).toBe('0.4');
    expect(form?.get('aspect_ratio')).toBeNull();
  });

  it('treats a CONTENT_FILTERED result as moderation that was still billed', async () => {
    fake = await startStabilityFake(VALID_KEY);
    fake.state.contentFiltered = true;
    const { ctx } = contextFor(fake, VALID_KEY);
    const error = await failureOf(stabilityProvider.submit({ ...request, model: 'ultra' }, ctx()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'moderation', retryable: false, actualCost: { usd: 0.08 } });
    expect(fake.counts.submit).toBe(1);
  });

  it('rejects img2img on Core before sending anything', async () => {
    fake = await startStabilityFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const error = await failureOf(stabilityProvider.submit({ ...request, initImage: { bytes: new Uint8Array(4), mime: 'image/png' } }, ctx()));
    expect(error.code).toBe('invalid_input');
    expect(fake.requests).toHaveLength(0);
  });

  it('waits at least 10 s after a 429 without Retry-After', async () => {
    fake = await startStabilityFake(VALID_KEY);
    const h = contextFor(fake, VALID_KEY);
    fake.inject('submit', { kind: 'rate_limit' });
    await stabilityProvider.submit(request, h.ctx());
    expect(h.sleeps).toEqual([10_000]);
  });

  it('estimates exactly from credits, and unknown for SD 3.5 Flash', () => {
    expect(stabilityProvider.estimate({ ...request, model: 'ultra', n: 3 })).toMatchObject({ kind: 'exact', usd: 0.24 });
    expect(stabilityProvider.estimate({ ...request, model: 'sd3.5-flash' }).kind).toBe('unknown');
  });
});
