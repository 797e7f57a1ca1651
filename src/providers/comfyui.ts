import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { buildGraph, seedFor } from './comfyui-workflow.js';
import { requestJson, send, type Dialect } from './http.js';
import { downloadImage, toBlob } from './images.js';
import { prepareRequest, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost } from './pricing.js';
import { ProviderError } from './provider-error.js';
import { withRetry } from './retry.js';
import type { GenerateRequest, ImageProvider, ModelInfo, PendingJob, PollResult, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * A self-hosted ComfyUI server (reference §11.1): queue with `POST /prompt`, poll `GET /history/{id}`
 * (an entry appears only when execution ends), fetch bytes with `GET /view`. $0: it is your GPU.
 * Progress over the `/ws` websocket is not used yet; polling gives the finished result.
 */

const info: ProviderInfo = {
  id: 'comfyui',
  displayName: 'ComfyUI',
  keyRequired: false,
  keyHelpUrl: 'https://docs.comfy.org/development/comfyui-server/api-key-integration',
  defaultBaseUrl: 'http://127.0.0.1:8188',
  officialApi: true,
  note: 'Self-hosted; the model is a checkpoint file name on the server. An optional key is a Comfy account key for paid API nodes.',
};

const MODELS: readonly ModelInfo[] = [
  {
    id: '*',
    displayName: 'Any checkpoint on the server',
    capabilities: { maxImagesPerCall: 16, seed: true, negativePrompt: true, img2img: true },
    lifecycle: { status: 'current' },
  },
];

const ErrorBody = z.object({
  error: z.union([z.string(), z.object({ message: z.string().optional(), details: z.string().optional() })]).optional(),
  node_errors: z.record(z.string(), z.unknown()).optional(),
});

const dialect: Dialect = {
  provider: 'comfyui',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    const error = parsed.data.error;
    const message = typeof error === 'string' ? error : [error?.message, error?.details].filter(Boolean).join(': ');
    const nodes = Object.keys(parsed.data.node_errors ?? {});
    return { message: nodes.length > 0 ? `${message} (nodes ${nodes.join(', ')})` : message };
  },
};

const Queued = z.object({ prompt_id: z.string() });
const Uploaded = z.object({ name: z.string(), subfolder: z.string().optional(), type: z.string().optional() });
const ImageRef = z.object({ filename: z.string(), subfolder: z.string().default(''), type: z.string().default('output') });
const History = z.record(
  z.string(),
  z.object({
    outputs: z.record(z.string(), z.object({ images: z.array(ImageRef).optional() }).loose()).default({}),
    status: z
      .object({ status_str: z.string().optional(), completed: z.boolean().optional(), messages: z.array(z.tuple([z.string(), z.unknown()])).optional() })
      .optional(),
  }),
);

async function uploadInitImage(req: GenerateRequest, ctx: ProviderContext): Promise<string> {
  const image = req.initImage;
  if (!image) throw new Error('uploadInitImage needs an init image');
  const form = new FormData();
  form.set('image', toBlob(image.bytes, image.mime), `imagebench-${randomUUID()}.${image.mime.split('/')[1] ?? 'png'}`);
  form.set('type', 'input');
  form.set('overwrite', 'true');
  const { data } = await requestJson(dialect, ctx, `${ctx.baseUrl}/upload/image`, { method: 'POST', body: form }, Uploaded, 'upload answer', {
    idempotent: true,
  });
  return data.subfolder ? `${data.subfolder}/${data.name}` : data.name;
}

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const custom = req.providerOptions?.workflow;
  if (req.model === '*' && custom === undefined) {
    throw new AppError('invalid_input', 'ComfyUI needs a checkpoint file name as the model (for example sd_xl_turbo_1.0_fp16.safetensors).', {
      hint: 'List them on the server with GET /models/checkpoints.',
    });
  }
  const seed = seedFor(req);
  const graph = custom ?? buildGraph(req, seed, req.initImage ? await uploadInitImage(req, ctx) : undefined);
  const body: Record<string, unknown> = { prompt: graph, client_id: randomUUID() };
  if (ctx.apiKey) body.extra_data = { api_key_comfy_org: ctx.apiKey };
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/prompt`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    Queued,
    'queue answer',
    { idempotent: false, rule: (e) => e.retryable },
  );
  return { kind: 'pending', model: req.model, providerJobId: data.prompt_id, pollUrl: `${ctx.baseUrl}/history/${data.prompt_id}`, memo: { seed } };
}

function executionError(messages: ReadonlyArray<readonly [string, unknown]>): string {
  const error = messages.find(([event]) => event === 'execution_error')?.[1];
  const parsed = z.object({ exception_message: z.string().optional(), node_type: z.string().optional() }).safeParse(error);
  if (!parsed.success) return 'no error message';
  return [parsed.data.node_type, parsed.data.exception_message?.trim()].filter(Boolean).join(': ');
}

async function poll(job: PendingJob, ctx: ProviderContext): Promise<PollResult> {
  const url = `${ctx.baseUrl}/history/${encodeURIComponent(job.providerJobId)}`;
  const { data } = await requestJson(dialect, ctx, url, { method: 'GET' }, History, 'history', { idempotent: true });
  const entry = data[job.providerJobId];
  if (!entry) return job;
  if (entry.status?.status_str === 'error') {
    const why = executionError(entry.status.messages ?? []);
    return { kind: 'failed', error: new ProviderError('comfyui', 'provider_error', `ComfyUI failed to run the workflow: ${why}`, { hint: 'Check the ComfyUI console for the node that failed.' }) };
  }
  const refs = Object.values(entry.outputs).flatMap((o) => o.images ?? []).filter((ref) => ref.type === 'output');
  const seed = typeof job.memo.seed === 'number' ? job.memo.seed : undefined;
  const images = await Promise.all(
    refs.map((ref) => downloadImage(dialect, ctx, `${ctx.baseUrl}/view?${new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder, type: ref.type })}`, seed)),
  );
  if (images.length === 0) return { kind: 'failed', error: new ProviderError('comfyui', 'provider_error', 'The ComfyUI workflow finished without saving an image (no SaveImage output).') };
  return { kind: 'done', images, actualCost: actualCost('comfyui', job.model, { images: images.length }) };
}

const QueueState = z.object({ queue_running: z.array(z.array(z.unknown())).default([]) });

/** Removes the prompt from the queue and, only if it is the one running now, interrupts it. */
async function cancel(job: PendingJob, ctx: ProviderContext): Promise<void> {
  const json = { 'content-type': 'application/json' };
  const retry = { ...ctx.retry, signal: ctx.signal };
  await withRetry(() => send(dialect, ctx, `${ctx.baseUrl}/queue`, { method: 'POST', headers: json, body: JSON.stringify({ delete: [job.providerJobId] }) }, { idempotent: true }), retry);
  const { data } = await requestJson(dialect, ctx, `${ctx.baseUrl}/queue`, { method: 'GET' }, QueueState, 'queue', { idempotent: true });
  if (data.queue_running.some((item) => item[1] === job.providerJobId)) {
    await withRetry(() => send(dialect, ctx, `${ctx.baseUrl}/interrupt`, { method: 'POST' }, { idempotent: true }), retry);
  }
}

export const comfyuiProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('comfyui', req.model, req),
  submit,
  poll,
  cancel,
  verifyKey: (ctx) => verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/system_stats`, () => ({})),
};
