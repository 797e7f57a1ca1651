import { z } from 'zod';
import type { ActualCost, CostEstimate } from '../contract/money.js';
import type { AppError } from '../contract/errors.js';
import type { ProviderId } from '../contract/providers.js';
import type { RetryOptions } from './retry.js';

/**
 * One interface for every image provider, modelled on the Vercel AI SDK image-model spec:
 * typed common options, `providerOptions` for the rest, an injected `fetch`, and errors that
 * say whether they are retryable. Wire facts come from `reference/cloud-providers.md`.
 */

export { ProviderIdSchema, type ProviderId } from '../contract/providers.js';

export interface ProviderInfo {
  id: ProviderId;
  displayName: string;
  /** False for self-hosted servers, where a key (HTTP Basic `user:pass` for A1111) is optional. */
  keyRequired: boolean;
  keyHelpUrl: string;
  defaultBaseUrl: string;
  /** False where the vendor publishes no developer API (Midjourney); such a provider never sends anything. */
  officialApi: boolean;
  note?: string;
}

/** Where a model is in its vendor's lifecycle; retired models stay listed because users still configure them. */
export interface ModelLifecycle {
  status: 'current' | 'legacy' | 'deprecated' | 'retired';
  /** ISO date of the announced or actual shutdown. */
  shutdownOn?: string;
  replacement?: string;
}

export interface ModelCapabilities {
  /** Exact `WxH` sizes the model accepts, when it takes sizes. */
  sizes?: readonly string[];
  /** Aspect ratios (`W:H`) the model accepts, when it takes ratios instead of sizes. */
  aspectRatios?: readonly string[];
  maxImagesPerCall: number;
  seed: boolean;
  negativePrompt: boolean;
  img2img: boolean;
  styles?: readonly string[];
  qualities?: readonly string[];
}

/** `id: '*'` stands for "any model the server knows" (ComfyUI checkpoints, A1111 models, Leonardo UUIDs). */
export interface ModelInfo {
  id: string;
  displayName: string;
  capabilities: ModelCapabilities;
  lifecycle: ModelLifecycle;
}

export const InitImageSchema = z.object({
  bytes: z.instanceof(Uint8Array),
  mime: z.string(),
  /** 0 keeps the init image, 1 ignores it. */
  strength: z.number().min(0).max(1).optional(),
});

export const GenerateRequestSchema = z
  .object({
    model: z.string().min(1),
    prompt: z.string().min(1),
    negativePrompt: z.string().optional(),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    /** `W:H`; used by models that take a ratio, and as the shape when width/height are absent. */
    aspectRatio: z.string().regex(/^\d+:\d+$/).optional(),
    n: z.number().int().min(1),
    seed: z.number().int().nonnegative().optional(),
    quality: z.string().optional(),
    initImage: InitImageSchema.optional(),
    providerOptions: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((r) => (r.width !== undefined && r.height !== undefined) || r.aspectRatio !== undefined, {
    message: 'give width and height, or an aspectRatio',
  });
export type GenerateRequest = z.infer<typeof GenerateRequestSchema>;

export interface GeneratedImage {
  bytes: Uint8Array;
  mime: string;
  seed?: number;
}

/** Token or unit counts as the provider reported them, kept for the ledger. */
export type Usage = Record<string, number>;

export interface DoneResult {
  kind: 'done';
  images: GeneratedImage[];
  actualCost?: ActualCost;
  usage?: Usage;
  /** The provider's request id (`x-request-id` and friends), for support tickets. */
  requestId?: string;
}

/**
 * A job the provider accepted and is still running. It is plain JSON so the job store can persist
 * it before anything else happens and resume polling after a crash.
 */
export const PendingJobSchema = z.object({
  kind: z.literal('pending'),
  model: z.string(),
  providerJobId: z.string(),
  pollUrl: z.string().optional(),
  /** What the provider needs to finish the job: result URLs, costs reported on submit, the request shape. */
  memo: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type PendingJob = z.infer<typeof PendingJobSchema>;

export type SubmitResult = DoneResult | PendingJob;

/** A terminal failure of an accepted job (moderated, errored). Transport trouble while polling throws instead. */
export interface FailedResult {
  kind: 'failed';
  error: AppError;
}

export type PollResult = DoneResult | PendingJob | FailedResult;

export interface ProviderContext {
  /** Passed per call; a provider never stores it, logs it, or puts it into an error or a result. */
  apiKey?: string;
  baseUrl: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Tests inject `sleep`/`random`; hosts may tune attempts. */
  retry?: RetryOptions;
}

export interface VerifyKeyResult {
  ok: boolean;
  message: string;
}

export interface ImageProvider {
  readonly info: ProviderInfo;
  models(): readonly ModelInfo[];
  estimate(req: GenerateRequest): CostEstimate;
  submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult>;
  poll(job: PendingJob, ctx: ProviderContext): Promise<PollResult>;
  cancel?(job: PendingJob, ctx: ProviderContext): Promise<void>;
  /** Makes the cheapest call that proves the key works; never spends money. */
  verifyKey(ctx: ProviderContext): Promise<VerifyKeyResult>;
}
