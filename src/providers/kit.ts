import { AppError } from '../contract/errors.js';
import { send, type Dialect } from './http.js';
import { ProviderError } from './provider-error.js';
import { withRetry } from './retry.js';
import { GenerateRequestSchema, type GenerateRequest, type ModelInfo, type PendingJob, type PollResult, type ProviderContext, type ProviderInfo, type VerifyKeyResult } from './types.js';

/** Small pieces every provider module uses: key checks, request checks, key verification. */

export function requireKey(info: ProviderInfo, ctx: ProviderContext): string {
  if (ctx.apiKey) return ctx.apiKey;
  throw new AppError('key_missing', `No ${info.displayName} API key is set.`, {
    hint: `Add one with \`imagebench keys set ${info.id}\` (get it at ${info.keyHelpUrl}).`,
  });
}

/** Parses the request once at the provider boundary, then checks it against the model. */
export function prepareRequest(info: ProviderInfo, models: readonly ModelInfo[], req: GenerateRequest): ModelInfo {
  const parsed = GenerateRequestSchema.safeParse(req);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('invalid_input', `The ${info.displayName} request is invalid: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'bad shape'}.`);
  }
  const model = findModel(info.displayName, models, req.model);
  checkRequestFits(info.displayName, model, req);
  return model;
}

/** Synchronous providers hand back the image in the submit response; there is never anything to poll. */
export function nothingToPoll(dialect: Dialect, job: PendingJob): Promise<PollResult> {
  return Promise.resolve({
    kind: 'failed',
    error: new ProviderError(dialect.provider, 'invalid_input', `${dialect.displayName} answers synchronously; job ${job.providerJobId} has nothing to poll.`),
  });
}

export interface VerifyOptions {
  method?: 'GET' | 'POST';
  body?: () => RequestInit['body'];
  /** Error statuses that still prove the key was accepted (a 404 for a made-up id, a 422 for an empty form). */
  acceptedStatuses?: readonly number[];
  /** Looks at a 2xx answer; returns a problem in words, or undefined. */
  check?: (res: Response) => Promise<string | undefined>;
}

/** Makes one cheap authenticated call and turns the outcome into words; never throws for a bad or missing key. */
export async function verifyKeyWith(
  dialect: Dialect,
  ctx: ProviderContext,
  url: string,
  headers: () => Record<string, string>,
  options: VerifyOptions = {},
): Promise<VerifyKeyResult> {
  const accepted = `${dialect.displayName} accepted the key.`;
  try {
    const init: RequestInit = { method: options.method ?? 'GET', headers: headers() };
    const res = await withRetry(() => send(dialect, ctx, url, { ...init, body: options.body?.() }, { idempotent: true }), {
      ...ctx.retry,
      signal: ctx.signal,
    });
    const problem = await options.check?.(res);
    return problem ? { ok: false, message: problem } : { ok: true, message: accepted };
  } catch (error) {
    if (error instanceof ProviderError && error.status !== undefined && options.acceptedStatuses?.includes(error.status)) {
      return { ok: true, message: accepted };
    }
    if (error instanceof AppError) return { ok: false, message: error.message };
    throw error;
  }
}

/** Rejects what the model cannot do before anything is sent (and before anything is billed). */
export function checkRequestFits(providerName: string, model: ModelInfo, req: GenerateRequest): void {
  const caps = model.capabilities;
  if (req.n > caps.maxImagesPerCall) {
    throw new AppError('invalid_input', `${providerName} ${model.displayName} makes at most ${caps.maxImagesPerCall} image(s) per call; ${req.n} were asked for.`, {
      hint: `Send ${req.n} requests of ${caps.maxImagesPerCall} or fewer.`,
    });
  }
  if (req.initImage && !caps.img2img) {
    throw new AppError('invalid_input', `${providerName} ${model.displayName} does not take an input image.`, {
      hint: 'Pick a model that supports image-to-image, or drop the input image.',
    });
  }
  if (req.quality !== undefined && caps.qualities && !caps.qualities.includes(req.quality)) {
    throw new AppError('invalid_input', `${providerName} ${model.displayName} has no quality "${req.quality}".`, {
      hint: `Use one of: ${caps.qualities.join(', ')}.`,
    });
  }
}

export function findModel(providerName: string, models: readonly ModelInfo[], id: string): ModelInfo {
  const model = models.find((m) => m.id === id) ?? models.find((m) => m.id === '*');
  if (!model) {
    throw new AppError('invalid_input', `${providerName} has no model "${id}" in ImageBench.`, {
      hint: `Known models: ${models.map((m) => m.id).join(', ') || 'none'}.`,
    });
  }
  return model;
}
