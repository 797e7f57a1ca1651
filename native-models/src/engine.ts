/**
 * The one interface the core uses to run local models, and the shapes that cross it. Everything
 * here may travel between processes (worker thread, Electron utility process), so each shape is a
 * zod schema first and a type second: both ends parse what they receive.
 *
 * Implementations: `PipelineEngine` (pipelines/, runs in the calling thread; what the worker uses
 * inside) and `WorkerEngine` (worker/, runs the pipeline out of process; what the app uses).
 */
import { z } from 'zod';
import { AppError, ErrorPayloadSchema } from '../../src/contract/errors.js';

export const EXECUTION_PROVIDER_CHOICES = ['auto', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export const ExecutionProviderChoiceSchema = z.enum(EXECUTION_PROVIDER_CHOICES);
export type ExecutionProviderChoice = z.infer<typeof ExecutionProviderChoiceSchema>;

export const SchedulerChoiceSchema = z.enum(['euler', 'euler-ancestral', 'lcm']);

// z.custom, not z.instanceof: the latter narrows to arrays over a plain ArrayBuffer only.
const uint8 = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');
const uint8Clamped = z.custom<Uint8ClampedArray>((v) => v instanceof Uint8ClampedArray, 'expected a Uint8ClampedArray');
export const Float32ArraySchema = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const bytes = z.union([uint8, uint8Clamped]);
const size = z.number().int().positive().max(16_384);

/** Pixels of the init image, already resized by the caller to the requested width × height. */
export const InitImageSchema = z.object({
  data: bytes,
  width: size,
  height: size,
  channels: z.union([z.literal(3), z.literal(4)]),
});
export type InitImage = z.infer<typeof InitImageSchema>;

export const GenerateRequestSchema = z.object({
  modelDir: z.string().min(1),
  prompt: z.string(),
  /** Only used with classifier-free guidance. Omitted: "" (SD), or zero embeddings for SDXL folders
   *  that set force_zeros_for_empty_prompt (reference §3.2). */
  negativePrompt: z.string().optional(),
  /** Omitted: the model's default (reference §1.5). Must be a multiple of 8; checked with a clear error. */
  width: size.optional(),
  height: size.optional(),
  steps: z.number().int().min(1).max(1000).optional(),
  guidanceScale: z.number().min(0).max(50).optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Images per request; one generator draws the noise of all of them, as diffusers does. */
  batchSize: z.number().int().min(1).max(16).default(1),
  /** Omitted: the scheduler_config.json class, or Euler when that class is not one ImageBench runs. */
  scheduler: SchedulerChoiceSchema.optional(),
  /** Image-to-image when present. */
  initImage: InitImageSchema.optional(),
  /** Image-to-image only; omitted: 0.5 for turbo models (their model cards), 0.3 SDXL, 0.8 SD (diffusers). */
  strength: z.number().gt(0).max(1).optional(),
  executionProvider: ExecutionProviderChoiceSchema.default('auto'),
  /** ONNX Runtime intra-op threads; omitted: one per physical core. */
  threads: z.number().int().min(1).max(256).optional(),
  /** A latent preview with every Nth step's progress event; 0 = none (they cost a little). */
  previewEvery: z.number().int().min(0).default(0),
  pixelFormat: z.enum(['rgb', 'rgba']).default('rgba'),
  /** SDXL micro-conditioning (time_ids); each defaults to the output size / no crop. */
  sdxlConditioning: z
    .object({
      originalSize: z.object({ width: size, height: size }).optional(),
      cropTopLeft: z.object({ top: z.number().int().min(0), left: z.number().int().min(0) }).optional(),
      targetSize: z.object({ width: size, height: size }).optional(),
    })
    .optional(),
});
/** What callers write (defaults may be omitted). */
export type GenerateRequest = z.input<typeof GenerateRequestSchema>;
export type ParsedGenerateRequest = z.output<typeof GenerateRequestSchema>;

export const GeneratedImageSchema = z.object({
  width: size,
  height: size,
  channels: z.union([z.literal(3), z.literal(4)]),
  /** Row-major, `channels` bytes per pixel. */
  data: uint8,
});
export type GeneratedImage = z.infer<typeof GeneratedImageSchema>;

const ms = z.number().nonnegative();
export const StageTimingsSchema = z.object({
  /** Creating ONNX Runtime sessions during this call (0 when they were cached). */
  loadMs: ms,
  tokenizeMs: ms,
  textEncodeMs: ms,
  /** Image-to-image only (0 otherwise). */
  vaeEncodeMs: ms,
  /** One entry per UNet step: model run(s), guidance and scheduler math. */
  unetStepMs: z.array(ms),
  /** All latent previews together. */
  previewMs: ms,
  vaeDecodeMs: ms,
  totalMs: ms,
});
export type StageTimings = z.infer<typeof StageTimingsSchema>;

export const GenerateResultSchema = z.object({
  images: z.array(GeneratedImageSchema),
  seed: z.number().int(),
  width: size,
  height: size,
  family: z.string(),
  scheduler: SchedulerChoiceSchema,
  guidanceScale: z.number(),
  classifierFreeGuidance: z.boolean(),
  /** UNet timesteps that ran (image-to-image runs only the tail of the schedule). */
  timesteps: z.array(z.number()),
  strength: z.number().nullable(),
  /** The provider the UNet ran on, and why it is not the one asked for (null when nothing fell back). */
  executionProvider: z.string(),
  fallbackReason: z.string().nullable(),
  prompt: z.object({ truncated: z.boolean(), cutWords: z.array(z.string()) }),
  timings: StageTimingsSchema,
});
export type GenerateResult = z.infer<typeof GenerateResultSchema>;

export const LatentPreviewSchema = z.object({
  /** Latent resolution: 1/8 of the image; upscale for display. */
  width: size,
  height: size,
  /** RGBA, row-major (ImageData-ready). */
  data: uint8Clamped,
});
export type LatentPreview = z.infer<typeof LatentPreviewSchema>;

export const StepProgressSchema = z.object({
  /** 0-based index of the step that just finished. */
  step: z.number().int().min(0),
  totalSteps: z.number().int().min(1),
  timestep: z.number(),
  stepMs: ms,
  elapsedMs: ms,
  preview: LatentPreviewSchema.optional(),
});
export type StepProgress = z.infer<typeof StepProgressSchema>;

export const TokenizeResultSchema = z.object({
  /** One per text encoder (two for SDXL), in the folder's order. */
  encoders: z.array(
    z.object({
      tokenizer: z.string(),
      padId: z.number().int(),
      ids: z.array(z.number().int()),
      tokenCount: z.number().int(),
      truncated: z.boolean(),
      cutWords: z.array(z.string()),
    }),
  ),
});
export type TokenizeResult = z.infer<typeof TokenizeResultSchema>;

export const ModelInfoSchema = z.object({
  root: z.string(),
  pipelineClass: z.string(),
  family: z.enum(['sd15', 'lcm', 'sd2', 'sdxl', 'sdxl-turbo']),
  turbo: z.boolean(),
  familyEvidence: z.string(),
  defaults: z.object({
    width: z.number().int(),
    height: z.number().int(),
    steps: z.number().int(),
    guidanceScale: z.number(),
    classifierFreeGuidance: z.boolean(),
  }),
  licence: z.object({
    name: z.string(),
    commercialUse: z.enum(['non-commercial or licensed', 'allowed with use restrictions', 'check the model card']),
    note: z.string(),
  }),
  scheduler: z.object({ className: z.string(), runsAs: SchedulerChoiceSchema }),
  vaeScalingFactor: z.number(),
  imageToImage: z.boolean(),
  components: z.array(z.object({ name: z.string(), modelPath: z.string(), externalDataFiles: z.array(z.string()) })),
  tokenizers: z.array(z.object({ dir: z.string(), padToken: z.string(), padTokenId: z.number().int() })),
  /** Compiled into this onnxruntime-node build (not proof that the GPU works). */
  executionProviders: z.array(z.string()),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const EngineUsageSchema = z.object({
  /** Time with at least one model call (generate, embed) in flight. */
  busyMs: ms,
  /** Time since the engine was created. */
  wallMs: ms,
  /** busyMs / wallMs: the "local GPU utilisation" KPI. */
  busyShare: z.number().min(0).max(1),
  /** Workers started (1 + restarts after crashes); 0 for an in-process engine. */
  workerStarts: z.number().int().min(0),
  workerCrashes: z.number().int().min(0),
});
export type EngineUsage = z.infer<typeof EngineUsageSchema>;

export { ErrorPayloadSchema };

/**
 * How a cancelled generation rejects: an `AppError` with code `cancelled` that also says how
 * promptly it stopped, counted where the run happens (not where the progress events arrive).
 */
export class GenerationCancelledError extends AppError {
  constructor(
    message: string,
    /** Steps that finished after the cancel reached the run: 0, or 1 when it arrived mid-step. */
    readonly stepsAfterCancel: number,
  ) {
    super('cancelled', message, { hint: 'Nothing to fix: the run was stopped (or replaced by a newer request).' });
    this.name = 'GenerationCancelledError';
  }
}

export interface GenerateOptions {
  /** After every step; carries a latent preview on the steps `previewEvery` asks for. */
  readonly onProgress?: (progress: StepProgress) => void;
  /** Checked between steps: the run stops after the step in progress and rejects with `cancelled`. */
  readonly signal?: AbortSignal;
}

export interface LocalEngine {
  /** What a model folder is (family, defaults, licence, components); loads no sessions. */
  inspect(modelDir: string): Promise<ModelInfo>;
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult>;
  /** The pooled text embedding of `text` (for the semantic cache). */
  embedText(modelDir: string, text: string): Promise<Float32Array>;
  tokenize(modelDir: string, text: string): Promise<TokenizeResult>;
  usage(): EngineUsage;
  /** Releases sessions (and the worker); the engine is unusable afterwards. */
  dispose(): Promise<void>;
}
