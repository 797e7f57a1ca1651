/**
 * Text-to-image and image-to-image for every supported family (reference §3): tokens → text
 * encoder(s) → seeded latents (or the encoded init image, noised to the strength) → scheduler loop
 * over the UNet → VAE decoder → Uint8 pixels. Which tensors to feed comes from the folder's configs
 * and each session's declared inputs, never from the exporter's name.
 *
 * Plain async code: `session.run` blocks whatever thread calls this, so the app calls it through
 * the worker (worker/). Cancellation is checked between steps, after yielding to the event loop so
 * an abort that arrived during a step is seen before the next one starts.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { AppError } from '../../../src/contract/errors.js';
import { GenerationCancelledError, type GenerateOptions, type GenerateRequest, type GenerateResult, type StepProgress } from '../engine.js';
import { TorchGenerator } from '../noise/torch-randn.js';
import { latentToRgba, SD15_LATENT_RGB, SDXL_LATENT_RGB } from '../preview/latent-rgb.js';
import type { Scheduler } from '../schedulers/index.js';
import { BatchedSession } from './batched-session.js';
import { imageTensorToPixels, latentFromEncoder, pixelsToImageTensor } from './image-tensors.js';
import type { LoadedModel } from './model-sessions.js';
import { planRun, schedulerFor, type RunPlan } from './run-plan.js';
import { encodePrompt, tokenizePrompt, type EncodedPrompt } from './text-conditioning.js';
import { UnetRunner } from './unet-runner.js';

export interface PipelineResult extends GenerateResult {
  /** The latent that was decoded (UNet space, before ÷ scaling factor), [B, 4, H/8, W/8]. */
  readonly latents: Float32Array;
}

export async function runDiffusion(model: LoadedModel, input: GenerateRequest, options: GenerateOptions = {}): Promise<PipelineResult> {
  const started = performance.now();
  const loadBefore = model.loadMs;
  const { folder } = model;
  const plan = planRun(folder, input);
  const scheduler = schedulerFor(folder, plan);
  const cancel = new CancelCheck(options.signal, scheduler.timesteps.length);
  try {
    return await generate(model, plan, scheduler, cancel, options.onProgress, { started, loadBefore });
  } finally {
    cancel.dispose();
  }
}

async function generate(
  model: LoadedModel,
  plan: RunPlan,
  scheduler: Scheduler,
  cancel: CancelCheck,
  onProgress: GenerateOptions['onProgress'],
  clock: { readonly started: number; readonly loadBefore: number },
): Promise<PipelineResult> {
  const { folder } = model;
  const { started, loadBefore } = clock;
  const total = scheduler.timesteps.length;
  cancel.check();

  await model.tokenizers(); // loaded outside the tokenize timing
  let mark = performance.now();
  const tokens = await tokenizePrompt(model, plan.request.prompt);
  const negativeText = plan.request.negativePrompt;
  // SDXL with force_zeros_for_empty_prompt: no negative prompt means zero embeddings, not "" (§3.2).
  const zeroNegative = plan.sdxl && folder.forceZerosForEmptyPrompt && negativeText === undefined;
  const negativeTokens = plan.classifierFreeGuidance && !zeroNegative ? await tokenizePrompt(model, negativeText ?? '') : null;
  const tokenizeMs = performance.now() - mark;

  mark = performance.now();
  const loadBeforeEncode = model.loadMs; // creating the encoder sessions is load time, not encoding
  const positive = await encodePrompt(model, tokens);
  let negative: EncodedPrompt | null = null;
  if (negativeTokens !== null) negative = await encodePrompt(model, negativeTokens);
  else if (plan.classifierFreeGuidance) negative = zerosLike(positive);
  const textEncodeMs = performance.now() - mark - (model.loadMs - loadBeforeEncode);
  cancel.check();

  const timeCondProjDim = folder.unet.config?.['time_cond_proj_dim'];
  const unet = new UnetRunner(await model.session('unet'), plan, {
    positive,
    negative,
    timeCondProjDim: typeof timeCondProjDim === 'number' ? timeCondProjDim : null,
  });

  const generator = new TorchGenerator(plan.request.seed);
  const latentShape = [plan.batch, 4, plan.height / 8, plan.width / 8];
  mark = performance.now();
  const loadBeforeVae = model.loadMs;
  let latents: Float32Array;
  if (plan.img2img === null) {
    latents = generator.randn(latentShape).map((v) => v * scheduler.initNoiseSigma);
  } else {
    latents = await initLatents(model, plan, scheduler, generator, latentShape);
  }
  const vaeEncodeMs = plan.img2img === null ? 0 : performance.now() - mark - (model.loadMs - loadBeforeVae);

  const unetStepMs: number[] = [];
  let previewMs = 0;
  const previewFactors = plan.sdxl ? SDXL_LATENT_RGB : SD15_LATENT_RGB;
  const loopStarted = performance.now();
  for (let i = 0; i < total; i++) {
    await yieldToEventLoop();
    cancel.check();
    const stepStarted = performance.now();
    const t = scheduler.timesteps[i]!;
    const eps = await unet.predictNoise(scheduler.scaleModelInput(latents, i), t);
    const { prevSample, denoised } = scheduler.step(eps, i, latents, generator);
    latents = prevSample;
    cancel.completed = i + 1;
    const stepMs = performance.now() - stepStarted;
    unetStepMs.push(stepMs);

    if (onProgress !== undefined) {
      const progress: StepProgress = { step: i, totalSteps: total, timestep: t, stepMs, elapsedMs: performance.now() - loopStarted };
      const every = plan.request.previewEvery;
      if (every > 0 && (i + 1) % every === 0) {
        const previewStarted = performance.now();
        const data = latentToRgba(denoised, plan.height / 8, plan.width / 8, previewFactors);
        previewMs += performance.now() - previewStarted;
        onProgress({ ...progress, preview: { width: plan.width / 8, height: plan.height / 8, data } });
      } else {
        onProgress(progress);
      }
    }
  }
  await yieldToEventLoop();
  cancel.check();

  mark = performance.now();
  const loadBeforeDecode = model.loadMs;
  const images = await decode(model, plan, latents);
  const vaeDecodeMs = performance.now() - mark - (model.loadMs - loadBeforeDecode);
  const report = await model.executionReport();

  return {
    images,
    latents,
    seed: plan.request.seed,
    width: plan.width,
    height: plan.height,
    family: folder.family,
    scheduler: plan.schedulerName,
    guidanceScale: plan.guidanceScale,
    classifierFreeGuidance: plan.classifierFreeGuidance,
    timesteps: [...scheduler.timesteps],
    strength: plan.img2img?.strength ?? null,
    executionProvider: report.executionProvider,
    fallbackReason: report.fallbackReason,
    prompt: { truncated: tokens.truncated, cutWords: [...tokens.cutWords] },
    timings: {
      loadMs: model.loadMs - loadBefore,
      tokenizeMs,
      textEncodeMs: Math.max(0, textEncodeMs),
      vaeEncodeMs: Math.max(0, vaeEncodeMs),
      unetStepMs,
      previewMs,
      vaeDecodeMs: Math.max(0, vaeDecodeMs),
      totalMs: performance.now() - started,
    },
  };
}

/**
 * Image-to-image start (reference §3.4): z₀ = scaling · encode(image) (posterior sampled with the
 * generator first), repeated for the batch, then noised to the first kept timestep with a second
 * draw. Generator order as diffusers: posterior sample, then the noise, then the steps' draws.
 */
async function initLatents(model: LoadedModel, plan: RunPlan, scheduler: Scheduler, generator: TorchGenerator, shape: number[]): Promise<Float32Array> {
  const image = plan.img2img!.image;
  const session = await model.session('vae_encoder');
  const runner = new BatchedSession(session, 'vae_encoder', 1);
  const inputName = session.inputs.length === 1 ? session.inputs[0]!.name : 'sample';
  const outputName = ['latent_parameters', 'latent_sample'].find((n) => session.outputs.some((o) => o.name === n));
  if (outputName === undefined) {
    throw new AppError('model_invalid', `vae_encoder/model.onnx has neither latent_parameters nor latent_sample (it has: ${session.outputs.map((o) => o.name).join(', ')})`, {
      hint: 'Export the model folder again with Optimum.',
    });
  }
  const out = await runner.run({ [inputName]: { values: pixelsToImageTensor(image), dims: [1, 3, plan.height, plan.width] } }, [outputName]);
  const z0 = latentFromEncoder({ name: outputName, ...out[outputName]! }, model.folder.vaeScalingFactor, generator);
  const batched = new Float32Array(z0.length * plan.batch);
  for (let b = 0; b < plan.batch; b++) batched.set(z0, b * z0.length);
  return scheduler.addNoise(batched, generator.randn(shape), 0);
}

async function decode(model: LoadedModel, plan: RunPlan, latents: Float32Array): Promise<ReturnType<typeof imageTensorToPixels>> {
  const session = await model.session('vae_decoder');
  const runner = new BatchedSession(session, 'vae_decoder', plan.batch);
  const inputName = session.inputs.length === 1 ? session.inputs[0]!.name : 'latent_sample';
  const outputName = session.outputs.some((o) => o.name === 'sample') ? 'sample' : session.outputs[0]!.name;
  const scaled = latents.map((v) => v / model.folder.vaeScalingFactor);
  const out = await runner.run({ [inputName]: { values: scaled, dims: [plan.batch, 4, plan.height / 8, plan.width / 8] } }, [outputName]);
  return imageTensorToPixels(out[outputName]!.data, plan.batch, plan.height, plan.width, plan.request.pixelFormat);
}

function zerosLike(prompt: EncodedPrompt): EncodedPrompt {
  return {
    hiddenStates: new Float32Array(prompt.hiddenStates.length),
    width: prompt.width,
    pooled: prompt.pooled === null ? null : new Float32Array(prompt.pooled.length),
  };
}

/**
 * Cancellation between steps, and how promptly: the step count when the abort arrived is noted,
 * so the error can say how many steps still finished after it (0, or 1 if it came mid-step).
 */
class CancelCheck {
  completed = 0;
  private completedAtAbort: number | null = null;
  private readonly onAbort = () => (this.completedAtAbort ??= this.completed);

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly total: number,
  ) {
    if (signal?.aborted === true) this.completedAtAbort = 0;
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  check(): void {
    if (this.signal?.aborted !== true) return;
    const after = this.completed - (this.completedAtAbort ?? this.completed);
    throw new GenerationCancelledError(`Generation cancelled after ${this.completed} of ${this.total} steps`, after);
  }

  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}
