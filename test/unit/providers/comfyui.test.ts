import { afterEach, describe, expect, it } from 'vitest';
import { comfyuiProvider } from '../../../src/providers/comfyui.js';
import { generate } from '../../../src/providers/generate.js';
import type { GenerateRequest } from '../../../src/providers/types.js';
import { CHECKPOINTS, startComfyFake, type ComfyFake } from '../../fakes/comfyui.js';
import { contextFor, failureOf, instantPolling, providerConformance } from './conformance.js';

const request: GenerateRequest = { model: CHECKPOINTS[0] ?? '', prompt: 'a lantern in fog', negativePrompt: 'text', width: 512, height: 512, n: 2, seed: 123 };

providerConformance({
  provider: comfyuiProvider,
  start: () => startComfyFake(),
  request,
  auth: 'none',
  polled: true,
  submitRetries5xx: true,
  expectCost: (cost) => expect(cost).toEqual({ usd: 0, source: 'price-table', basis: expect.any(String) }),
});

describe('comfyui specifics', () => {
  let fake: ComfyFake;
  afterEach(() => fake.close());

  it('queues a text-to-image graph and fetches only the saved outputs, with the seed', async () => {
    fake = await startComfyFake();
    const { ctx } = contextFor(fake, undefined);
    const done = await generate(comfyuiProvider, request, ctx(), instantPolling);
    const body = fake.requests[0]?.json();
    expect(body).toMatchObject({
      prompt: {
        checkpoint: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: request.model } },
        latent: { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 2 } },
        sampler: { class_type: 'KSampler', inputs: { seed: 123, denoise: 1 } },
        negative: { inputs: { text: 'text' } },
      },
    });
    expect(done.images.map((i) => i.seed)).toEqual([123, 123]);
    expect(fake.counts.download).toBe(2);
  });

  it('uploads the init image and encodes it for image-to-image', async () => {
    fake = await startComfyFake();
    const { ctx } = contextFor(fake, undefined);
    await comfyuiProvider.submit({ ...request, n: 1, initImage: { bytes: new Uint8Array([1, 2, 3]), mime: 'image/png', strength: 0.35 } }, ctx());
    expect(fake.state.uploads).toHaveLength(1);
    const graph = fake.requests.find((r) => r.url.pathname === '/prompt')?.json();
    expect(graph).toMatchObject({
      prompt: {
        load: { class_type: 'LoadImage', inputs: { image: fake.state.uploads[0] } },
        latent: { class_type: 'RepeatLatentBatch', inputs: { amount: 1 } },
        sampler: { inputs: { denoise: 0.35 } },
      },
    });
  });

  it('explains a validation failure with the failing node', async () => {
    fake = await startComfyFake();
    const { ctx } = contextFor(fake, undefined);
    const error = await failureOf(comfyuiProvider.submit({ ...request, model: 'missing.safetensors' }, ctx()));
    expect(error.code).toBe('provider_error');
    expect(error.message).toContain('Prompt outputs failed validation');
    expect(error.message).toContain('checkpoint');
  });

  it('reports an execution error from the history as a failed job', async () => {
    fake = await startComfyFake();
    fake.state.failExecution = true;
    const { ctx } = contextFor(fake, undefined);
    const error = await failureOf(generate(comfyuiProvider, request, ctx(), instantPolling));
    expect(error.message).toBe('ComfyUI failed to run the workflow: KSampler: CUDA out of memory.');
  });

  it('sends a Comfy account key only in extra_data, for paid API nodes', async () => {
    fake = await startComfyFake();
    const { ctx } = contextFor(fake, 'comfyui-account-key-123');
    await comfyuiProvider.submit(request, ctx());
    expect(fake.requests[0]?.json()).toMatchObject({ extra_data: { api_key_comfy_org: 'comfyui-account-key-123' } });
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('cancels by deleting from the queue and interrupting only its own running prompt', async () => {
    fake = await startComfyFake();
    const { ctx } = contextFor(fake, undefined);
    const job = await comfyuiProvider.submit(request, ctx());
    if (job.kind !== 'pending') throw new Error('expected a queued prompt');
    await comfyuiProvider.cancel?.(job, ctx());
    expect(fake.state.deleted).toEqual([job.providerJobId]);
    expect(fake.state.interrupted).toBe(1);
    fake.state.running = 'someone-else';
    await comfyuiProvider.cancel?.(job, ctx());
    expect(fake.state.interrupted).toBe(1);
  });

  it('costs exactly $0', () => {
    expect(comfyuiProvider.estimate(request)).toMatchObject({ kind: 'exact', usd: 0 });
  });
});
