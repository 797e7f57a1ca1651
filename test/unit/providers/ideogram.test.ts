import { afterEach, describe, expect, it } from 'vitest';
import { ideogramProvider } from '../../../src/providers/ideogram.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startIdeogramFake, type IdeogramFake } from '../../fakes/ideogram.js';
import { contextFor, failureOf, providerConformance, VALID_KEY } from './conformance.js';

const request: GenerateRequest = { model: 'ideogram-v3', prompt: 'a poster that says OPEN LATE', width: 1024, height: 1536, n: 2, quality: 'TURBO' };

providerConformance({
  provider: ideogramProvider,
  start: startIdeogramFake,
  request,
  auth: 'key',
  polled: false,
  submitRetries5xx: true,
  moderationOn: 'submit',
  verifyProbesSubmitRoute: true,
  expectCost: (cost) => expect(cost).toMatchObject({ usd: 0.06, source: 'price-table' }),
});

describe('ideogram specifics', () => {
  let fake: IdeogramFake;
  afterEach(() => fake.close());

  it('sends Api-Key and a multipart form with the tier and a WxH aspect ratio', async () => {
    fake = await startIdeogramFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    const done = await ideogramProvider.submit({ ...request, negativePrompt: 'blur', seed: 3 }, ctx());
    expect(fake.requests[0]?.headers['api-key']).toBe(VALID_KEY);
    const form = await fake.requests[0]?.form();
    expect(form?.get('rendering_speed')).toBe('TURBO');
    expect(form?.get('aspect_ratio')).toBe('2x3');
    expect(form?.get('num_images')).toBe('2');
    expect(form?.get('negative_prompt')).toBe('blur');
    expect(done.kind === 'done' && done.images.map((i) => i.seed)).toEqual([1000, 1001]);
  });

  it('treats images marked unsafe as a moderation outcome, not a download error', async () => {
    fake = await startIdeogramFake(VALID_KEY);
    fake.state.unsafeOutputs = true;
    const { ctx } = contextFor(fake, VALID_KEY);
    const error = await failureOf(ideogramProvider.submit(request, ctx()));
    expect(error).toMatchObject({ code: 'moderation', retryable: false });
    expect(fake.counts.download).toBe(0);
  });

  it('verifies the key with a prompt-less call that validation refuses (nothing generated)', async () => {
    fake = await startIdeogramFake(VALID_KEY);
    const { ctx } = contextFor(fake, VALID_KEY);
    await expect(ideogramProvider.verifyKey(ctx())).resolves.toMatchObject({ ok: true });
    expect(fake.counts.download).toBe(0);
  });

  it('estimates exactly per tier and image', () => {
    expect(ideogramProvider.estimate({ ...request, quality: 'QUALITY', n: 3 })).toMatchObject({ kind: 'exact', usd: 0.27 });
    expect(ideogramProvider.estimate({ ...request, quality: undefined, n: 1 })).toMatchObject({ kind: 'exact', usd: 0.06 });
  });
});
