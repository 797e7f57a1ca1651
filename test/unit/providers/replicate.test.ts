import { afterEach, describe, expect, it } from 'vitest';
import { generate } from '../../../src/providers/generate.js';
import { replicateProvider } from '../../../src/providers/replicate.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { SDXL_VERSION, startReplicateFake, type ReplicateFake } from '../../fakes/replicate.js';
import { contextFor, instantPolling, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'black-forest-labs/flux-schnell', prompt: 'a koi pond from above', aspectRatio: '16:9', n: 2 };

providerConformance({
  provider: replicateProvider,
  start: startReplicateFake,
  request,
  auth: 'key',
  polled: true,
  submitRetries5xx: false,
  moderationOn: 'poll',
  expectCost: (cost) => expect(cost).toMatchObject({ usd: 0.006, source: 'price-table' }),
});

describe('replicate specifics', () => {
  let fake: ReplicateFake;
  afterEach(() => fake.close());

  it('asks to wait and returns at once when the model finishes within the wait', async () => {
    fake = await startReplicateFake(VALID_KEY);
    fake.state.finishWithinWait = true;
    const { ctx } = contextFor(fake, VALID_KEY);
    const result = await replicateProvider.submit(request, ctx());
    expect(result.kind).toBe('done');
    expect(fake.requests[0]?.headers.prefer).toBe('wait');
    expect(fake.requests[0]?.json()).toMatchObject({ input: { prompt: request.prompt, aspect_ratio: '16:9', num_outputs: 2, output_format: 'png' } });
    expect(fake.counts.download).toBe(2);
  });

  it('runs SDXL by its latest version and prices it by predict_time × GPU $/s', async () => {
    fake = await startReplicateFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const done = await generate(replicateProvider, { model: 'stability-ai/sdxl', prompt: 'a teapot', negativePrompt: 'blurry', width: 1024, height: 1024, n: 1 }, ctx(), instantPolling);
    const create = fake.requests.find((r) => r.url.pathname === '/v1/predictions');
    expect(create?.json()).toMatchObject({ version: SDXL_VERSION, input: { negative_prompt: 'blurry', width: 1024, height: 1024 } });
    expect(done.actualCost).toMatchObject({ usd: 0.00312, source: 'provider-reported' });
    expect(done.usage).toEqual({ predict_time: 3.2 });
  });

  it('estimates SDXL as a range from typical GPU seconds', () => {
    const estimate = replicateProvider.estimate({ model: 'stability-ai/sdxl', prompt: 'x', width: 1024, height: 1024, n: 2 });
    expect(estimate).toMatchObject({ kind: 'range', minUsd: 0.0078, maxUsd: 0.0195 });
  });

  it('cancels a running prediction', async () => {
    fake = await startReplicateFake(VALID_KEY);
    fake.state.pollsBeforeDone = 100;
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = await replicateProvider.submit(request, ctx());
    if (job.kind !== 'pending') throw new Error('expected a pending prediction');
    await replicateProvider.cancel?.(job, ctx());
    const after = await replicateProvider.poll(job, ctx());
    expect(after).toMatchObject({ kind: 'failed', error: { code: 'cancelled' } });
  });

  it('refuses to send the key to a polling URL on another host', async () => {
    fake = await startReplicateFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = { kind: 'pending' as const, model: request.model, providerJobId: 'x', pollUrl: 'https://evil.example/predictions/x', memo: {} };
    await expect(replicateProvider.poll(job, ctx())).rejects.toMatchObject({ code: 'provider_error' });
    expect(fake.requests).toHaveLength(0);
  });
});
