import { afterEach, describe, expect, it } from 'vitest';
import { a1111Provider, readA1111Progress } from '../../../src/providers/a1111.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { startA1111Fake, type A1111Fake } from '../../fakes/a1111.js';
import { contextFor, failureOf, providerConformance } from './conformance.js';

const CREDENTIALS = 'artist:correct-horse-battery';
const request: GenerateRequest = { model: 'sd_xl_turbo_1.0_fp16.safetensors [e869ac7d69]', prompt: 'a copper kettle', width: 512, height: 768, n: 3, seed: 10 };

providerConformance({
  provider: a1111Provider,
  start: (key) => startA1111Fake(key),
  request,
  auth: 'key',
  keys: { valid: CREDENTIALS, wrong: 'artist:wrong-password-here' },
  polled: false,
  submitRetries5xx: true,
  expectCost: (cost) => expect(cost).toEqual({ usd: 0, source: 'price-table', basis: expect.any(String) }),
});

describe('a1111 specifics', () => {
  let fake: A1111Fake;
  afterEach(() => fake.close());

  it('drops the batch grid, keeps the per-image seeds from info, and pins the checkpoint', async () => {
    fake = await startA1111Fake(CREDENTIALS);
    const { ctx } = contextFor(fake, CREDENTIALS);
    const done = await a1111Provider.submit(request, ctx());
    expect(done.kind === 'done' && done.images.map((i) => i.seed)).toEqual([10, 11, 12]);
    expect(fake.requests[0]?.json()).toMatchObject({ batch_size: 3, width: 512, height: 768, override_settings: { sd_model_checkpoint: request.model }, save_images: false });
  });

  it('sends img2img with the init image and denoising strength', async () => {
    fake = await startA1111Fake(undefined);
    const { ctx } = contextFor(fake, undefined);
    await a1111Provider.submit({ ...request, model: '*', n: 1, initImage: { bytes: new Uint8Array([7, 7, 7]), mime: 'image/png', strength: 0.3 } }, ctx());
    expect(fake.requests[0]?.url.pathname).toBe('/sdapi/v1/img2img');
    const body = fake.requests[0]?.json();
    expect(body).toMatchObject({ init_images: ['BwcH'], denoising_strength: 0.3 });
    expect(body).not.toHaveProperty('override_settings');
  });

  it('works against an open server with no key at all', async () => {
    fake = await startA1111Fake(undefined);
    const { ctx } = contextFor(fake, undefined);
    await expect(a1111Provider.verifyKey(ctx())).resolves.toMatchObject({ ok: true });
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('reads progress and interrupts', async () => {
    fake = await startA1111Fake(undefined);
    const { ctx } = contextFor(fake, undefined);
    await expect(readA1111Progress(ctx())).resolves.toMatchObject({ progress: 0.4, eta_relative: 2.5 });
    await a1111Provider.cancel?.({ kind: 'pending', model: '*', providerJobId: 'current', memo: {} }, ctx());
    expect(fake.state.interrupted).toBe(1);
  });

  it('keeps the validation message of a 422', async () => {
    fake = await startA1111Fake(undefined);
    const { ctx } = contextFor(fake, undefined);
    const error = await failureOf(a1111Provider.submit({ ...request, providerOptions: { steps: 0 } }, ctx()));
    expect(error.code).toBe('provider_error');
    expect(error.message).toContain('body.steps');
    expect(fake.counts.submit).toBe(1);
  });
});
