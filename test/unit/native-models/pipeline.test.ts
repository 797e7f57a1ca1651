/**
 * The diffusion pipeline end to end on the tiny random-weight model folders, with real ONNX Runtime
 * sessions: text → tokens → encoder(s) → scheduler loop → VAE → pixels, for every family and
 * exporter variant, cross-checked against the independent numpy reference on the same ids and
 * the same noise. Also the image-to-image scheduling it relies on (reference §3.4).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { createOrtBackend, type ModelSession, type OrtBackend } from '../../../native-models/src/backend/ort.js';
import type { GenerateRequest, InitImage, StepProgress } from '../../../native-models/src/engine.js';
import { TorchGenerator } from '../../../native-models/src/noise/torch-randn.js';
import { runDiffusion, type PipelineResult } from '../../../native-models/src/pipelines/diffusion-pipeline.js';
import { ModelSessions } from '../../../native-models/src/pipelines/model-sessions.js';
import { PipelineEngine } from '../../../native-models/src/pipelines/pipeline-engine.js';
import { tokenizePrompt } from '../../../native-models/src/pipelines/text-conditioning.js';
import { createScheduler, img2imgStartIndex } from '../../../native-models/src/schedulers/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { PYTHON, referenceComponents, referencePipeline, tinyModelsDir } from '../../helpers/tiny-models.js';
import { expectClose, expectNumberClose } from './shared-data.js';
import { vectors } from './scheduler-vectors.js';

/** fp32 end to end: ORT and numpy differ only in float32 summation order. */
const LATENT_TOLERANCE = { abs: 1e-4 };
/** Pixels: ±1 level, where a value sits on a rounding boundary. */
const PIXEL_TOLERANCE = 1;

let models = '';
const sessions = new ModelSessions(createOrtBackend());
const dirOf = (folder: string) => path.join(models, folder);

beforeAll(() => {
  models = tinyModelsDir();
});
afterAll(() => sessions.release());

async function generate(folder: string, request: Partial<GenerateRequest> = {}, hooks: Parameters<typeof runDiffusion>[2] = {}): Promise<PipelineResult> {
  const full: GenerateRequest = { modelDir: dirOf(folder), prompt: 'a red fox in the snow, watercolour', seed: 1, width: 64, height: 64, steps: 4, ...request };
  const model = await sessions.open(full.modelDir, { executionProvider: full.executionProvider ?? 'cpu', threads: 1 });
  return runDiffusion(model, full, hooks);
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** The reference's image ([B,H,W,3] floats in [0,1]) against our RGBA bytes. */
function expectPixelsClose(ours: Uint8Array, channels: number, reference: readonly number[]): void {
  let worst = 0;
  reference.forEach((v, i) => {
    const pixel = Math.floor(i / 3);
    worst = Math.max(worst, Math.abs(Math.round(v * 255) - ours[pixel * channels + (i % 3)]!));
  });
  expect(worst).toBeLessThanOrEqual(PIXEL_TOLERANCE);
}

function gradientImage(width: number, height: number): InitImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      data.set([(x * 255) / (width - 1), (y * 255) / (height - 1), ((x + y) * 97) % 256, 255], p);
    }
  }
  return { data, width, height, channels: 4 };
}

describe('image-to-image scheduling (reference §3.4)', () => {
  const turboConfig = { _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
  const trailing = (n: number) => vectors.euler_discrete_trailing.cases.find((c) => c.num_inference_steps === n)!;

  it('skips the first steps − floor(steps·strength) timesteps, and refuses steps·strength < 1', () => {
    expect(img2imgStartIndex(2, 0.5)).toBe(1);
    expect(img2imgStartIndex(4, 0.5)).toBe(2);
    expect(img2imgStartIndex(4, 1)).toBe(0);
    expect(img2imgStartIndex(3, 0.7)).toBe(1); // int(2.0999999999999996) = 2 steps kept
    expect(img2imgStartIndex(4, 0.3)).toBe(3);
    expect(() => img2imgStartIndex(1, 0.5)).toThrow(/steps × strength must be at least 1/);
    expect(() => img2imgStartIndex(4, 0)).toThrow(/greater than 0/);
  });

  it('Euler and Euler Ancestral keep the tail of the text-to-image schedule (turbo: 2 steps × 0.5 → t = 499)', () => {
    for (const name of ['euler', 'euler-ancestral'] as const) {
      const scheduler = createScheduler(turboConfig, name);
      scheduler.setTimesteps(2, 0.5);
      expect(scheduler.timesteps).toEqual([499]);
      scheduler.setTimesteps(4, 0.5);
      expect(scheduler.timesteps).toEqual(trailing(4).timesteps.slice(2));
    }
  });

  it('Euler add_noise is x₀ + σ(t)·noise at the first kept timestep', () => {
    const scheduler = createScheduler(turboConfig, 'euler');
    scheduler.setTimesteps(4, 0.5);
    const x0 = Float64Array.from(vectors.step_examples.sample);
    const noise = Float64Array.from(vectors.step_examples.noise);
    const sigma = trailing(4).sigmas[2]!;
    expectClose(scheduler.addNoise(x0, noise, 0), [...x0].map((x, i) => x + sigma * noise[i]!), { abs: 1e-12 });
    // … and the loop then starts from that sigma: its scale_model_input is x / √(σ² + 1).
    expectClose(scheduler.scaleModelInput(x0, 0), [...x0].map((x) => x / Math.sqrt(sigma * sigma + 1)), { abs: 1e-12 });
  });

  it('LCM builds its schedule from original_steps·strength distillation steps and noises with √ᾱ_t', () => {
    const scheduler = createScheduler({ _class_name: 'LCMScheduler', original_inference_steps: 50 }, 'lcm');
    scheduler.setTimesteps(4, 0.5);
    // origin = [19, 39, …, 499] reversed; picks floor(linspace(0, 25, 4, endpoint=False)) = 0, 6, 12, 18
    expect(scheduler.timesteps).toEqual([499, 379, 259, 139]);
    const alpha = vectors.alphas_cumprod.float64[vectors.alphas_cumprod.indices.indexOf(499)]!;
    const x0 = Float64Array.from(vectors.step_examples.sample);
    const noise = Float64Array.from(vectors.step_examples.noise);
    expectClose(scheduler.addNoise(x0, noise, 0), [...x0].map((x, i) => Math.sqrt(alpha) * x + Math.sqrt(1 - alpha) * noise[i]!), { abs: 1e-12 });
    scheduler.setTimesteps(4, 1);
    expect(scheduler.timesteps).toEqual(vectors.lcm.cases.find((c) => c.num_inference_steps === 4)!.timesteps);
    expect(() => scheduler.setTimesteps(8, 0.1)).toThrow(/5 distillation steps to pick 8 from/);
  });
});

describe('text-to-image on every tiny family and exporter variant', () => {
  const folders = ['sd15', 'lcm', 'sd-turbo', 'sdxl', 'sdxl-turbo', 'sd-turbo-fp16', 'sd15-int32-ids', 'sd-turbo-rank1-timestep', 'sd-turbo-external-data'];

  it.each(folders)('%s: same seed → identical bytes, another seed → different image', async (folder) => {
    const steps: StepProgress[] = [];
    const first = await generate(folder, {}, { onProgress: (p) => steps.push(p) });
    const again = await generate(folder);
    const other = await generate(folder, { seed: 2 });

    expect(first.images).toHaveLength(1);
    const image = first.images[0]!;
    expect([image.width, image.height, image.channels, image.data.length]).toEqual([64, 64, 4, 64 * 64 * 4]);
    expect(new Set(image.data).size).toBeGreaterThan(50); // a real picture of noise, not a constant
    expect(Buffer.from(again.images[0]!.data).equals(Buffer.from(image.data))).toBe(true);
    expect(Buffer.from(other.images[0]!.data).equals(Buffer.from(image.data))).toBe(false);

    expect(first.timesteps).toHaveLength(4);
    expect(steps.map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect(first.timings.unetStepMs).toHaveLength(4);
    expect(first.executionProvider).toBe('cpu');
    expect(first.fallbackReason).toBeNull();
    // Classifier-free guidance where the family's default guidance asks for it (SD 1.5 7.5, SDXL 5).
    expect(first.classifierFreeGuidance).toBe(folder === 'sd15' || folder === 'sd15-int32-ids' || folder === 'sdxl');
  });

  it('exporter variants of one model agree: rank-1 timestep and external data give sd-turbo’s exact bytes, fp16 is close', async () => {
    const base = (await generate('sd-turbo')).images[0]!.data;
    expect(Buffer.from((await generate('sd-turbo-rank1-timestep')).images[0]!.data).equals(Buffer.from(base))).toBe(true);
    expect(Buffer.from((await generate('sd-turbo-external-data')).images[0]!.data).equals(Buffer.from(base))).toBe(true);
    const half = (await generate('sd-turbo-fp16')).images[0]!.data;
    const worst = half.reduce((m, v, i) => Math.max(m, Math.abs(v - base[i]!)), 0);
    expect(worst).toBeLessThanOrEqual(4); // fp16 rounding of every tensor at the graph edges
  });

  it('int32-ids / int64-timestep exports refuse a fractional schedule with a clear error', async () => {
    // SD 1.5's config has no timestep_spacing → Euler "linspace": 3 steps give t = 499.5.
    const error = await rejection(generate('sd15-int32-ids', { steps: 3 }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(/integer timesteps.*t = 499\.5/);
  });

  it('batch count: one draw of [B,4,h,w] noise; image 0 of a batch of 2 is the batch-of-1 image', async () => {
    const single = await generate('sd-turbo');
    const pair = await generate('sd-turbo', { batchSize: 2 });
    expect(pair.images).toHaveLength(2);
    const worst = pair.images[0]!.data.reduce((m, v, i) => Math.max(m, Math.abs(v - single.images[0]!.data[i]!)), 0);
    expect(worst).toBeLessThanOrEqual(PIXEL_TOLERANCE);
    expect(Buffer.from(pair.images[1]!.data).equals(Buffer.from(pair.images[0]!.data))).toBe(false);
  });

  it('RGB output and latent previews only on the steps asked for', async () => {
    const seen: StepProgress[] = [];
    const rgb = await generate('sdxl-turbo', { pixelFormat: 'rgb', previewEvery: 2 }, { onProgress: (p) => seen.push(p) });
    expect(rgb.images[0]!.channels).toBe(3);
    expect(rgb.images[0]!.data.length).toBe(64 * 64 * 3);
    expect(seen.map((s) => s.preview !== undefined)).toEqual([false, true, false, true]);
    const preview = seen[3]!.preview!;
    expect([preview.width, preview.height, preview.data.length]).toEqual([8, 8, 8 * 8 * 4]);
  });
});

describe('cross-check against the numpy reference (same ids, same noise)', () => {
  /** Every draw of one generator in pipeline order: initial latents, then the per-step draws. */
  function noiseFor(seed: number, draws: number): number[] {
    const generator = new TorchGenerator(seed);
    return Array.from({ length: draws }, () => [...generator.randn([1, 4, 8, 8])]).flat();
  }

  const cases = [
    { folder: 'sd-turbo', steps: 1, scheduler: 'euler', extraDraws: 0 },
    { folder: 'sd-turbo', steps: 4, scheduler: 'euler', extraDraws: 0 },
    { folder: 'sdxl-turbo', steps: 4, scheduler: 'euler_ancestral', extraDraws: 4 },
    { folder: 'lcm', steps: 4, scheduler: 'lcm', extraDraws: 3 },
  ] as const;

  it.each(cases)('$folder, $steps step(s): final latents within 1e-4, pixels within 1 level', async ({ folder, steps, scheduler, extraDraws }) => {
    const seed = 1234;
    const ours = await generate(folder, { steps, seed });
    const model = await sessions.open(dirOf(folder), { executionProvider: 'cpu', threads: 1 });
    const tokens = await tokenizePrompt(model, 'a red fox in the snow, watercolour');
    const reference = referencePipeline({
      model_dir: dirOf(folder),
      input_ids: [tokens.ids[0]!],
      ...(tokens.ids[1] !== undefined ? { input_ids_2: [tokens.ids[1]] } : {}),
      noise: noiseFor(seed, 1 + extraDraws),
      height: 64,
      width: 64,
      steps,
      scheduler,
      ...(scheduler === 'lcm' ? { guidance_scale: ours.guidanceScale } : {}),
    });
    expect(ours.timesteps).toEqual(reference.timesteps);
    expectClose(ours.latents, reference.latents, LATENT_TOLERANCE, 'latents');
    expectPixelsClose(ours.images[0]!.data, 4, reference.image);
  });
});

describe('image-to-image', () => {
  it('sd-turbo, 2 steps × strength 0.5: one UNet call at t = 499 from the encoded, noised init image (numpy reference)', async () => {
    const seed = 7;
    const init = gradientImage(64, 64);
    const ours = await generate('sd-turbo', { steps: 2, seed, initImage: init, strength: 0.5 });
    expect(ours.timesteps).toEqual([499]);
    expect(ours.timings.unetStepMs).toHaveLength(1);
    expect(ours.timings.vaeEncodeMs).toBeGreaterThan(0);

    // The same start computed independently: reference VAE encoder and text encoder, our generator.
    const pixels = Array.from({ length: 3 * 64 * 64 }, (_, i) => (init.data[(i % 4096) * 4 + Math.floor(i / 4096)]! / 255) * 2 - 1);
    const model = await sessions.open(dirOf('sd-turbo'), { executionProvider: 'cpu', threads: 1 });
    const ids = (await tokenizePrompt(model, 'a red fox in the snow, watercolour')).ids[0]!;
    const [encoded, text] = referenceComponents([
      { model_dir: dirOf('sd-turbo'), component: 'vae_encoder', inputs: { sample: { dtype: 'float32', dims: [1, 3, 64, 64], data: pixels } } },
      { model_dir: dirOf('sd-turbo'), component: 'text_encoder', inputs: { input_ids: { dtype: 'int64', dims: [1, 77], data: ids } }, outputs: ['last_hidden_state'] },
    ]);
    const params = encoded!.outputs['latent_parameters']!.data;
    const generator = new TorchGenerator(seed);
    const posterior = generator.randn([1, 4, 8, 8]);
    const z0 = Float32Array.from({ length: 256 }, (_, i) => (params[i]! + Math.exp(0.5 * Math.min(Math.max(params[256 + i]!, -30), 20)) * posterior[i]!) * 0.18215);
    const noise = generator.randn([1, 4, 8, 8]);
    const sigma = vectors.euler_discrete_trailing.cases.find((c) => c.num_inference_steps === 2)!.sigmas[1]!;
    const noisy = z0.map((z, i) => z + sigma * noise[i]!);
    const [unet] = referenceComponents([
      {
        model_dir: dirOf('sd-turbo'),
        component: 'unet',
        inputs: {
          sample: { dtype: 'float32', dims: [1, 4, 8, 8], data: [...noisy.map((x) => x / Math.sqrt(sigma * sigma + 1))] },
          timestep: { dtype: 'float32', dims: [], data: [499] },
          encoder_hidden_states: { dtype: 'float32', dims: [1, 77, 1024], data: text!.outputs['last_hidden_state']!.data },
        },
      },
    ]);
    // One Euler step from σ to 0 lands on x₀ = x − σ·ε.
    const eps = unet!.outputs['out_sample']!.data;
    expectClose(ours.latents, [...noisy].map((x, i) => x - sigma * eps[i]!), LATENT_TOLERANCE, 'img2img latents');
  });

  it('runs on every VAE encoder flavour (latent_parameters sampled, latent_sample taken) and LCM, deterministically', async () => {
    const init = gradientImage(64, 64);
    for (const [folder, steps, strength, timesteps] of [
      ['sd15-int32-ids', 4, 0.5, [333, 0]],
      ['lcm', 4, 0.5, [499, 379, 259, 139]],
      ['sdxl-turbo', 2, 0.5, [499]],
    ] as const) {
      const a = await generate(folder, { steps, strength, initImage: init });
      const b = await generate(folder, { steps, strength, initImage: init });
      expect(a.timesteps).toEqual(timesteps);
      expect(Buffer.from(a.images[0]!.data).equals(Buffer.from(b.images[0]!.data))).toBe(true);
    }
    // RGB and RGBA init pixels are the same image (alpha is dropped).
    const rgb = new Uint8Array(64 * 64 * 3).map((_, i) => init.data[Math.floor(i / 3) * 4 + (i % 3)]!);
    const fromRgba = await generate('sd-turbo', { steps: 2, strength: 0.5, initImage: init });
    const fromRgb = await generate('sd-turbo', { steps: 2, strength: 0.5, initImage: { data: rgb, width: 64, height: 64, channels: 3 } });
    expect(Buffer.from(fromRgb.images[0]!.data).equals(Buffer.from(fromRgba.images[0]!.data))).toBe(true);
  });

  it('refuses steps × strength < 1 and an init image of another size', async () => {
    const tooWeak = await rejection(generate('sd-turbo', { steps: 1, strength: 0.5, initImage: gradientImage(64, 64) }));
    expect(tooWeak.code).toBe('invalid_input');
    expect(tooWeak.hint).toMatch(/2 steps at strength 0\.5/);
    const wrongSize = await rejection(generate('sd-turbo', { initImage: gradientImage(32, 32) }));
    expect(wrongSize.message).toMatch(/init image is 32×32 but the output is 64×64/);
  });
});

describe('errors a user can act on', () => {
  it('width/height not a multiple of 8', async () => {
    const error = await rejection(generate('sd-turbo', { width: 100 }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toBe('Width 100 is not a multiple of 8');
    expect(error.hint).toMatch(/use 96 or 104/);
  });

  it('a corrupt model names the file', async () => {
    const error = await rejection(generate('corrupt'));
    expect(error.code).toBe('model_invalid');
    expect(error.message).toMatch(/unet\/model\.onnx .* truncated/);
  });

  it('asking for CUDA on a machine without it runs on the CPU and says why', async () => {
    const result = await generate('sd-turbo', { executionProvider: 'cuda' });
    expect(result.executionProvider).toBe('cpu');
    expect(result.fallbackReason).toMatch(/CUDA requested but .*→ CPU/);
  });

  it('cancellation takes effect at the next step boundary', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await rejection(
      generate('sd-turbo', {}, {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 1) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('cancelled');
    expect(error.message).toBe('Generation cancelled after 2 of 4 steps');
    expect(seen).toEqual([0, 1]);
    expect(error).toMatchObject({ stepsAfterCancel: 0 });
  });
});

/** Copies a model folder and pins the batch axis of the UNet's inputs and outputs to 1. */
const PIN_BATCH_TO_ONE = `
import shutil, sys, onnx
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
path = dst + "/unet/model.onnx"
model = onnx.load(path)
for value in list(model.graph.input) + list(model.graph.output):
    dims = value.type.tensor_type.shape.dim
    if len(dims) > 0 and dims[0].dim_param:
        dims[0].dim_value = 1
onnx.save(model, path)
`;

describe('sessions and the in-process engine', () => {
  /** The real backend, counting what is created, run and released (by path relative to `root`). */
  function countingBackend(root = models): { backend: OrtBackend; created: string[]; released: string[]; runs: string[] } {
    const inner = createOrtBackend();
    const created: string[] = [];
    const released: string[] = [];
    const runs: string[] = [];
    const backend: OrtBackend = {
      listExecutionProviders: () => inner.listExecutionProviders(),
      async createSession(modelPath, options) {
        const session = await inner.createSession(modelPath, options);
        const name = path.relative(root, modelPath);
        created.push(name);
        const counted: ModelSession = {
          ...session,
          run: (feeds, outputs) => (runs.push(name), session.run(feeds, outputs)),
          release: () => (released.push(name), session.release()),
        };
        return counted;
      },
    };
    return { backend, created, released, runs };
  }

  it('classifier-free guidance on an export with a fixed batch of 1: two UNet runs per step, same image as one batch of 2', async () => {
    // The same sd15 folder with the UNet's batch axis pinned to 1, as static-shape exports have it.
    const { dir, cleanup } = makeTempDir('imagebench-static-batch-');
    try {
      const pinned = path.join(dir, 'sd15-batch1');
      execFileSync(PYTHON, ['-B', '-c', PIN_BATCH_TO_ONE, dirOf('sd15'), pinned]);
      const { backend, runs } = countingBackend(dir);
      const static1 = new ModelSessions(backend);
      const request = { prompt: 'a red fox in the snow, watercolour', seed: 1, width: 64, height: 64, steps: 4 };
      const pinnedResult = await runDiffusion(await static1.open(pinned, { executionProvider: 'cpu', threads: 1 }), { ...request, modelDir: pinned });
      await static1.release();
      expect(pinnedResult.classifierFreeGuidance).toBe(true);
      expect(runs.filter((r) => r.startsWith('sd15-batch1/unet')).length).toBe(2 * 4);
      const batched = await generate('sd15', request);
      expectClose(pinnedResult.latents, [...batched.latents], { abs: 1e-5 }, 'latents');
    } finally {
      cleanup();
    }
  });

  it('caches sessions per folder, loads only what a call needs, and releases them on a model switch', async () => {
    const { backend, created, released } = countingBackend();
    const engine = new PipelineEngine({ backend });
    const request = { prompt: 'a lighthouse', seed: 3, width: 64, height: 64, executionProvider: 'cpu', threads: 1 } as const;
    await engine.generate({ ...request, modelDir: dirOf('sd-turbo') });
    await engine.generate({ ...request, modelDir: dirOf('sd-turbo') });
    expect(created.sort()).toEqual(['sd-turbo/text_encoder/model.onnx', 'sd-turbo/unet/model.onnx', 'sd-turbo/vae_decoder/model.onnx']);
    expect(released).toEqual([]);
    await engine.generate({ ...request, modelDir: dirOf('sdxl-turbo') });
    expect(released.sort()).toEqual(['sd-turbo/text_encoder/model.onnx', 'sd-turbo/unet/model.onnx', 'sd-turbo/vae_decoder/model.onnx']);
    await engine.dispose();
    expect(released).toHaveLength(3 + 4);
    const usage = engine.usage();
    expect(usage.busyMs).toBeGreaterThan(0);
    expect(usage.busyShare).toBeGreaterThan(0);
    expect(usage.busyShare).toBeLessThanOrEqual(1);
  });

  it('pooled prompt embeddings for the semantic cache: pooler_output (SD), text_embeds of encoder 2 (SDXL)', async () => {
    const engine = new PipelineEngine();
    const fox = await engine.embedText(dirOf('sd-turbo'), 'a red fox');
    expect(fox).toBeInstanceOf(Float32Array);
    expect(fox).toHaveLength(1024);
    expect(await engine.embedText(dirOf('sd-turbo'), 'a red fox')).toEqual(fox);
    expect(await engine.embedText(dirOf('sd-turbo'), 'a blue whale')).not.toEqual(fox);
    const ids = (await engine.tokenize(dirOf('sd-turbo'), 'a red fox')).encoders[0]!.ids;
    const [reference] = referenceComponents([
      { model_dir: dirOf('sd-turbo'), component: 'text_encoder', inputs: { input_ids: { dtype: 'int64', dims: [1, 77], data: ids } }, outputs: ['pooler_output'] },
    ]);
    expectClose(fox, reference!.outputs['pooler_output']!.data, { abs: 1e-5 }, 'pooler_output');
    expect(await engine.embedText(dirOf('sdxl-turbo'), 'a red fox')).toHaveLength(1280);
    await engine.dispose();
  });

  it('tokenize and inspect read the folder without loading sessions', async () => {
    const engine = new PipelineEngine();
    const tokens = await engine.tokenize(dirOf('sdxl-turbo'), 'a red fox');
    expect(tokens.encoders.map((e) => [e.padId, e.ids.length, e.ids[0], e.tokenCount])).toEqual([
      [49407, 77, 49406, 3],
      [0, 77, 49406, 3],
    ]);
    const info = await engine.inspect(dirOf('lcm'));
    expect([info.family, info.scheduler.runsAs, info.imageToImage, info.defaults.steps]).toEqual(['lcm', 'lcm', true, 4]);
    expect(info.executionProviders).toContain('cpu');
    expectNumberClose(info.vaeScalingFactor, 0.18215, { abs: 0 });
    await engine.dispose();
  });
});
