import { z } from 'zod';
import { snapDimensions } from './geometry.js';
import { describeDetail, requestJson, send, type Dialect } from './http.js';
import { imageFromBase64, toBase64 } from './images.js';
import { nothingToPoll, prepareRequest, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost } from './pricing.js';
import { withRetry } from './retry.js';
import type { GenerateRequest, ImageProvider, ModelInfo, PendingJob, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * AUTOMATIC1111 / Forge (`--api`, reference §11.2): synchronous txt2img/img2img with base64 PNGs back.
 * The optional key is the `--api-auth user:pass` pair, sent as HTTP Basic. $0: it is your GPU.
 */

const info: ProviderInfo = {
  id: 'a1111',
  displayName: 'AUTOMATIC1111 / Forge',
  keyRequired: false,
  keyHelpUrl: 'https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API',
  defaultBaseUrl: 'http://127.0.0.1:7860',
  officialApi: true,
  note: 'Self-hosted (start it with --api). The model is a checkpoint title; `*` keeps the loaded one. A key, if set, is the --api-auth user:pass.',
};

const MODELS: readonly ModelInfo[] = [
  {
    id: '*',
    displayName: 'The checkpoint loaded on the server (or any checkpoint title)',
    capabilities: { maxImagesPerCall: 16, seed: true, negativePrompt: true, img2img: true },
    lifecycle: { status: 'current' },
  },
];

const ErrorBody = z.object({ error: z.string().optional(), detail: z.unknown().optional(), errors: z.unknown().optional() });

const dialect: Dialect = {
  provider: 'a1111',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    const { error, detail, errors } = parsed.data;
    const said = describeDetail(detail) ?? (typeof errors === 'string' && errors ? errors : undefined);
    return { message: [error, said].filter(Boolean).join(': ') || undefined };
  },
};

const Generated = z.object({ images: z.array(z.string()), info: z.string().optional() });
const Info = z.object({ seed: z.number().optional(), all_seeds: z.array(z.number()).optional() });

function headers(ctx: ProviderContext): Record<string, string> {
  const out: Record<string, string> = { 'content-type': 'application/json' };
  if (ctx.apiKey) out.authorization = `Basic ${Buffer.from(ctx.apiKey).toString('base64')}`;
  return out;
}

function buildBody(req: GenerateRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...req.providerOptions,
    prompt: req.prompt,
    negative_prompt: req.negativePrompt ?? '',
    seed: req.seed ?? -1,
    batch_size: req.n,
    n_iter: 1,
    ...snapDimensions(req, { step: 8, min: 64, max: 4096 }),
    send_images: true,
    save_images: false,
  };
  const overrides = req.providerOptions?.override_settings;
  if (req.model !== '*') body.override_settings = { ...(typeof overrides === 'object' && overrides !== null ? overrides : {}), sd_model_checkpoint: req.model };
  if (req.initImage) {
    body.init_images = [toBase64(req.initImage.bytes)];
    body.denoising_strength = req.initImage.strength ?? 0.75;
  }
  return body;
}

function seedsFrom(infoText: string | undefined): number[] {
  if (!infoText) return [];
  try {
    const parsed = Info.safeParse(JSON.parse(infoText));
    if (!parsed.success) return [];
    return parsed.data.all_seeds ?? (parsed.data.seed !== undefined ? [parsed.data.seed] : []);
  } catch {
    return []; // `info` is advisory; a server that sends something else still returned its images.
  }
}

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const route = req.initImage ? 'img2img' : 'txt2img';
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/sdapi/v1/${route}`,
    { method: 'POST', headers: headers(ctx), body: JSON.stringify(buildBody(req)) },
    Generated,
    `${route} answer`,
    { idempotent: false, rule: (e) => e.retryable },
  );
  // With a batch, the server may put a grid in front of the images; keep the last n.
  const encoded = data.images.slice(-req.n);
  const seeds = seedsFrom(data.info);
  const images = encoded.map((b64, i) => imageFromBase64(dialect, b64, `${route} image`, seeds[i]));
  return { kind: 'done', images, actualCost: actualCost('a1111', req.model, { images: images.length }) };
}

const Progress = z.object({
  progress: z.number(),
  eta_relative: z.number().optional(),
  current_image: z.string().nullish(),
  state: z.object({ job_count: z.number().optional(), sampling_step: z.number().optional(), sampling_steps: z.number().optional() }).loose().optional(),
});
export type A1111Progress = z.infer<typeof Progress>;

/** What the server is doing now (0–1 and an ETA); the UI asks while a synchronous call is in flight. */
export async function readA1111Progress(ctx: ProviderContext): Promise<A1111Progress> {
  const { data } = await requestJson(dialect, ctx, `${ctx.baseUrl}/sdapi/v1/progress?skip_current_image=true`, { method: 'GET', headers: headers(ctx) }, Progress, 'progress', {
    idempotent: true,
  });
  return data;
}

async function cancel(_job: PendingJob, ctx: ProviderContext): Promise<void> {
  await withRetry(() => send(dialect, ctx, `${ctx.baseUrl}/sdapi/v1/interrupt`, { method: 'POST', headers: headers(ctx) }, { idempotent: true }), {
    ...ctx.retry,
    signal: ctx.signal,
  });
}

export const a1111Provider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('a1111', req.model, req),
  submit,
  poll: (job) => nothingToPoll(dialect, job),
  cancel,
  verifyKey: (ctx) => verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/sdapi/v1/sd-models`, () => headers(ctx)),
};
