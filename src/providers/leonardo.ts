import { z } from 'zod';
import { snapDimensions } from './geometry.js';
import { assertKeySafeUrl, requestJson, type Dialect } from './http.js';
import { downloadImage } from './images.js';
import { prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost } from './pricing.js';
import { ProviderError } from './provider-error.js';
import type { GenerateRequest, ImageProvider, ModelInfo, PendingJob, PollResult, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * Leonardo.Ai (reference §8): async `POST /generations`, poll `GET /generations/{id}`. Models are UUIDs
 * from `GET /platformModels`; no per-image price table is published, so estimates are unknown and the
 * actual cost is the `apiCreditCost` Leonardo reports on create.
 */

const info: ProviderInfo = {
  id: 'leonardo',
  displayName: 'Leonardo.Ai',
  keyRequired: true,
  keyHelpUrl: 'https://docs.leonardo.ai/docs/getting-started',
  defaultBaseUrl: 'https://cloud.leonardo.ai/api/rest/v1',
  officialApi: true,
  note: 'Pass a platform model UUID (GET /platformModels) as the model. Leonardo publishes no price table; the cost is known after the call.',
};

const MODELS: readonly ModelInfo[] = [
  {
    id: '*',
    displayName: 'Any Leonardo platform model (UUID)',
    capabilities: { maxImagesPerCall: 4, seed: true, negativePrompt: true, img2img: false },
    lifecycle: { status: 'current' },
  },
];

const ErrorBody = z.object({ error: z.string().optional(), message: z.string().optional(), detail: z.string().optional(), code: z.string().optional() });

const dialect: Dialect = {
  provider: 'leonardo',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    return parsed.success ? { message: parsed.data.error ?? parsed.data.message ?? parsed.data.detail, code: parsed.data.code } : {};
  },
};

const Created = z.object({ sdGenerationJob: z.object({ generationId: z.string(), apiCreditCost: z.number().nullish() }) });
const Generation = z.object({
  generations_by_pk: z
    .object({
      status: z.string(),
      seed: z.number().nullish(),
      generated_images: z.array(z.object({ url: z.string(), nsfw: z.boolean().nullish() })).optional(),
    })
    .nullable(),
});

const authHeaders = (ctx: ProviderContext): Record<string, string> => ({ authorization: `Bearer ${requireKey(info, ctx)}`, accept: 'application/json' });

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const body: Record<string, unknown> = {
    ...req.providerOptions,
    prompt: req.prompt,
    modelId: req.model,
    num_images: req.n,
    ...snapDimensions(req, { step: 8, min: 32, max: 1536 }),
  };
  if (req.negativePrompt) body.negative_prompt = req.negativePrompt;
  if (req.seed !== undefined) body.seed = req.seed;
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/generations`,
    { method: 'POST', headers: { ...authHeaders(ctx), 'content-type': 'application/json' }, body: JSON.stringify(body) },
    Created,
    'generation job',
    { idempotent: false, model: req.model },
  );
  const job = data.sdGenerationJob;
  const memo: PendingJob['memo'] = typeof job.apiCreditCost === 'number' ? { apiCreditCost: job.apiCreditCost } : {};
  return { kind: 'pending', model: req.model, providerJobId: job.generationId, pollUrl: `${ctx.baseUrl}/generations/${job.generationId}`, memo };
}

async function poll(job: PendingJob, ctx: ProviderContext): Promise<PollResult> {
  const url = job.pollUrl ? assertKeySafeUrl(dialect, ctx.baseUrl, job.pollUrl) : `${ctx.baseUrl}/generations/${encodeURIComponent(job.providerJobId)}`;
  const { data } = await requestJson(dialect, ctx, url, { method: 'GET', headers: authHeaders(ctx) }, Generation, 'generation', { idempotent: true });
  const generation = data.generations_by_pk;
  if (!generation) return { kind: 'failed', error: new ProviderError('leonardo', 'provider_error', `Leonardo has no generation ${job.providerJobId}.`) };
  if (generation.status === 'PENDING' || generation.status === 'PROCESSING') return job;
  if (generation.status !== 'COMPLETE') {
    return { kind: 'failed', error: new ProviderError('leonardo', 'provider_error', `Leonardo generation ${job.providerJobId} ended ${generation.status}.`) };
  }
  const credits = typeof job.memo.apiCreditCost === 'number' ? job.memo.apiCreditCost : undefined;
  const all = generation.generated_images ?? [];
  const cost = actualCost('leonardo', job.model, {
    images: all.length,
    reported: credits !== undefined ? { kind: 'usd', usd: credits, what: `apiCreditCost ${credits} reported by Leonardo` } : undefined,
  });
  if (all.length === 0) {
    return { kind: 'failed', error: new ProviderError('leonardo', 'provider_error', `Leonardo generation ${job.providerJobId} completed with no images.`) };
  }
  const safe = all.filter((img) => img.nsfw !== true);
  if (safe.length === 0) {
    const error = new ProviderError('leonardo', 'moderation', 'Leonardo.Ai flagged every generated image as NSFW.', {
      hint: 'Rephrase the prompt; this is not retried.',
      actualCost: cost,
    });
    return { kind: 'failed', error };
  }
  const images = await Promise.all(safe.map((img) => downloadImage(dialect, ctx, img.url, generation.seed ?? undefined)));
  return { kind: 'done', images, actualCost: cost, usage: credits !== undefined ? { apiCreditCost: credits } : undefined };
}

export const leonardoProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('leonardo', req.model, req),
  submit,
  poll,
  verifyKey: (ctx) => verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/me`, () => authHeaders(ctx)),
};
