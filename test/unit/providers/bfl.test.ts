import { afterEach, describe, expect, it } from 'vitest';
import { bflProvider } from '../../../src/providers/bfl.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startBflFake, type BflFake } from '../../fakes/bfl.js';
import { contextFor, failureOf, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'flux-2-pro', prompt: 'a glass teapot on linen', width: 1024, height: 1024, n: 1, seed: 11 };

providerConformance({
  provider: bflProvider,
  start: startBflFake,
  request,
  auth: 'key',
  polled: true,
  submitRetries5xx: false,
  moderationOn: 'poll',
  expectCost: (cost) => expect(cost).toEqual({ usd: 0.03, source: 'provider-reported', basis: '3 credits reported by BFL (1 credit = $0.01)' }),
});

describe('bfl specifics', () => {
  let fake: BflFake;
  afterEach(() => fake.close());

  it('sends the key as x-key and keeps the reported cost with the pending job', async () => {
    fake = await startBflFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = await bflProvider.submit({ ...request, width: 1000, height: 1000 }, ctx());
    expect(fake.requests[0]?.headers['x-key']).toBe(VALID_KEY);
    expect(fake.requests[0]?.json()).toMatchObject({ width: 1008, height: 1008, seed: 11, output_format: 'png' });
    expect(job).toMatchObject({ kind: 'pending', memo: { costCredits: 3 } });
  });

  it('does not retry 402 insufficient credits', async () => {
    fake = await startBflFake(VALID_KEY);
    fake.state.credits = 0;
    const { ctx } = contextFor(fake, VALID_KEY);
    const error = await failureOf(bflProvider.submit(request, ctx()));
    expect(error).toMatchObject({ code: 'provider_error', retryable: false });
    expect(error.message).toMatch(/too few credits/);
    expect(fake.counts.submit).toBe(1);
  });

  it('retries a failing sample download a bounded number of times', async () => {
    fake = await startBflFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = await bflProvider.submit(request, ctx());
    if (job.kind !== 'pending') throw new Error('expected a task');
    await bflProvider.poll(job, ctx());
    fake.inject('download', { kind: 'server_error' }, 100);
    const error = await failureOf(bflProvider.poll(job, ctx()));
    expect(error).toMatchObject({ code: 'provider_error', retryable: true });
    expect(fake.counts.download).toBe(4);
  });

  it('says the link expired, not that the key is bad, when a sample URL no longer works', async () => {
    fake = await startBflFake(VALID_KEY);
    fake.state.samplesExpireAtOnce = true;
    const { ctx } = contextFor(fake, VALID_KEY);
    const job = await bflProvider.submit(request, ctx());
    if (job.kind !== 'pending') throw new Error('expected a task');
    await bflProvider.poll(job, ctx());
    const error = await failureOf(bflProvider.poll(job, ctx()));
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/result link no longer works \(HTTP 403\)/);
  });

  it('prices FLUX.2 by megapixel: first MP, then extra MP, n included', () => {
    expect(bflProvider.estimate({ ...request, width: 2048, height: 1024 })).toMatchObject({ kind: 'range', minUsd: 0.045, maxUsd: 0.0465 });
    expect(bflProvider.estimate({ ...request, model: 'flux-pro-1.1-ultra', aspectRatio: '16:9', n: 3 })).toMatchObject({ kind: 'exact', usd: 0.18 });
  });
});
