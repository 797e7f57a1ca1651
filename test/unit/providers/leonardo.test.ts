import { afterEach, describe, expect, it } from 'vitest';
import { leonardoProvider } from '../../../src/providers/leonardo.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import type { FakeServer } from '../../fakes/harness.js';
import { startLeonardoFake } from '../../fakes/leonardo.js';
import { contextFor, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: '6b645e3a-d64f-4341-a6d8-7a3690fbf042', prompt: 'an art deco train station', width: 1024, height: 768, n: 2, seed: 9 };

providerConformance({
  provider: leonardoProvider,
  start: startLeonardoFake,
  request,
  auth: 'key',
  polled: true,
  submitRetries5xx: false,
  moderationOn: 'poll',
  expectCost: (cost) => expect(cost).toEqual({ usd: 0.024, source: 'provider-reported', basis: 'apiCreditCost 0.024 reported by Leonardo' }),
});

describe('leonardo specifics', () => {
  let fake: FakeServer;
  afterEach(() => fake.close());

  it('posts the model UUID, size and count as JSON', async () => {
    fake = await startLeonardoFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    await leonardoProvider.submit(request, ctx());
    expect(fake.requests[0]?.json()).toEqual({ prompt: request.prompt, modelId: request.model, num_images: 2, width: 1024, height: 768, seed: 9 });
  });

  it('shows the price as unknown before the call, never $0', () => {
    const estimate = leonardoProvider.estimate(request);
    expect(estimate.kind).toBe('unknown');
  });
});
