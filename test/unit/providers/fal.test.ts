import { afterEach, describe, expect, it } from 'vitest';
import { falProvider } from '../../../src/providers/fal.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startFalFake, type FalFake } from '../../fakes/fal.js';
import { contextFor, failureOf, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'fal-ai/flux/schnell', prompt: 'paper boats on a lake', width: 1024, height: 1024, n: 2, seed: 5 };

providerConformance({
  provider: falProvider,
  start: startFalFake,
  request,
  auth: 'key',
  polled: true,
  submitRetries5xx: true,
  moderationOn: 'result',
  expectCost: (cost) => expect(cost).toEqual({ usd: 0.006, source: 'provider-reported', basis: '2 billable units × $0.003' }),
});

describe('fal specifics', () => {
  let fake: FalFake;
  afterEach(() => fake.close());

  it('authenticates with `Key`, not Bearer, and sends the size as image_size', async () => {
    fake = await startFalFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = await falProvider.submit({ ...request, width: 1200, height: 800 }, ctx());
    expect(fake.requests[0]?.headers.authorization).toBe(`Key ${VALID_KEY}`);
    expect(fake.requests[0]?.json()).toMatchObject({ prompt: request.prompt, num_images: 2, image_size: { width: 1200, height: 800 }, seed: 5 });
    // Status lives under the base app id, without the sub-path.
    expect(job.kind === 'pending' && job.pollUrl).toMatch(/\/fal-ai\/flux\/requests\/[^/]+\/status$/);
  });

  it('keeps a pending job pending while it is queued', async () => {
    fake = await startFalFake(VALID_KEY);
    fake.state.pollsBeforeDone = 5;
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = await falProvider.submit(request, ctx());
    if (job.kind !== 'pending') throw new Error('expected a queued request');
    await expect(falProvider.poll(job, ctx())).resolves.toMatchObject({ kind: 'pending', providerJobId: job.providerJobId });
    expect(fake.counts.result).toBe(0);
  });

  it('estimates per megapixel as a range, since 1 MP may be 10^6 or 2^20 pixels', () => {
    expect(falProvider.estimate(request)).toMatchObject({ kind: 'range', minUsd: 0.006, maxUsd: 0.012 });
    expect(falProvider.estimate({ ...request, width: 512, height: 512, n: 1 })).toMatchObject({ kind: 'exact', usd: 0.003 });
    expect(falProvider.estimate({ ...request, model: 'fal-ai/flux-pro/v1.1-ultra', n: 1 })).toMatchObject({ kind: 'exact', usd: 0.06 });
  });

  it('re-sends a submit after a 5xx (fal does not charge for them) but not after a 422', async () => {
    fake = await startFalFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    fake.inject('submit', { kind: 'server_error' });
    await falProvider.submit(request, ctx());
    expect(fake.counts.submit).toBe(2);
    const error = await failureOf(falProvider.submit({ ...request, providerOptions: { num_inference_steps: 50 } }, ctx()));
    expect(error.message).toContain('body.num_inference_steps');
    expect(fake.counts.submit).toBe(3);
  });
});
