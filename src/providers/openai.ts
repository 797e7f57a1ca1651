import { z } from 'zod';
import { nearestSize } from './geometry.js';
import { malformed, requestJson, type Dialect } from './http.js';
import { downloadImage, imageFromBase64, toBlob } from './images.js';
import { nothingToPoll, prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost, type PricedShape } from './pricing.js';
import type { GenerateRequest, ImageProvider, ModelCapabilities, ModelInfo, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/** OpenAI Images API (reference §1): synchronous, Bearer auth, GPT image models billed by `usage` tokens. */

const info: ProviderInfo = {
  id: 'openai',
  displayName: 'OpenAI',
  keyRequired: true,
  keyHelpUrl: 'https://platform.openai.com/api-keys',
  defaultBaseUrl: 'https://api.openai.com/v1',
  officialApi: true,
};

const GPT_SIZES = ['1024x1024', '1536x1024', '1024x1536'] as const;
const gptImage: ModelCapabilities = {
  sizes: GPT_SIZES,
  maxImagesPerCall: 10,
  seed: false,
  negativePrompt: false,
  img2img: true,
  qualities: ['low', 'medium', 'high', 'auto'],
};

const MODELS: readonly ModelInfo[] = [
  { id: 'gpt-image-2', displayName: 'GPT Image 2', capabilities: gptImage, lifecycle: { status: 'current' } },
  {
    id: 'gpt-image-1.5',
    displayName: 'GPT Image 1.5',
    capabilities: gptImage,
    lifecycle: { status: 'deprecated', shutdownOn: '2026-12-01', replacement: 'gpt-image-2' },
  },
  {
    id: 'gpt-image-1-mini',
    displayName: 'GPT Image 1 mini',
    capabilities: gptImage,
    lifecycle: { status: 'deprecated', shutdownOn: '2026-12-01', replacement: 'gpt-image-2' },
  },
  {
    id: 'gpt-image-1',
    displayName: 'GPT Image 1',
    capabilities: gptImage,
    lifecycle: { status: 'retired', shutdownOn: '2026-10-23', replacement: 'gpt-image-2' },
  },
  {
    id: 'dall-e-3',
    displayName: 'DALL·E 3',
    capabilities: {
      sizes: ['1024x1024', '1792x1024', '1024x1792'],
      maxImagesPerCall: 1,
      seed: false,
      negativePrompt: false,
      img2img: false,
      qualities: ['standard', 'hd'],
      styles: ['vivid', 'natural'],
    },
    lifecycle: { status: 'retired', shutdownOn: '2026-05-12', replacement: 'gpt-image-2' },
  },
];

const ErrorBody = z.object({
  error: z.object({ message: z.string().optional(), code: z.string().nullish(), type: z.string().nullish() }),
});

const dialect: Dialect = {
  provider: 'openai',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    return parsed.success ? { message: parsed.data.error.message, code: parsed.data.error.code ?? undefined } : {};
  },
  special(status, detail) {
    if (status === 400 && (detail.code === 'moderation_blocked' || detail.code === 'content_policy_violation')) {
      return {
        code: 'moderation',
        message: `OpenAI's safety system refused this request: ${detail.message ?? detail.code}`,
        hint: 'Rephrase the prompt (or change the input image); refusals are not retried.',
      };
    }
    if (status === 429 && detail.code === 'insufficient_quota') {
      return {
        code: 'provider_error',
        message: `OpenAI says the account is out of quota: ${detail.message ?? 'insufficient_quota'}`,
        hint: 'Add credit or raise the limit at https://platform.openai.com/settings/organization/billing; this is not retried.',
      };
    }
    return undefined;
  },
};

const ImagesResponse = z.object({
  data: z.array(z.object({ b64_json: z.string().nullish(), url: z.string().nullish(), revised_prompt: z.string().nullish() })).min(1),
  usage: z
    .object({
      input_tokens: z.number(),
      output_tokens: z.number(),
      input_tokens_details: z.object({ text_tokens: z.number().optional(), image_tokens: z.number().optional() }).optional(),
    })
    .optional(),
});

const isDallE = (model: string): boolean => model.startsWith('dall-e');

function wireSize(req: GenerateRequest, model: ModelInfo): string {
  return nearestSize(req, model.capabilities.sizes ?? GPT_SIZES);
}

function pricedShape(req: GenerateRequest, model: ModelInfo): PricedShape {
  return { size: wireSize(req, model), quality: req.quality ?? (isDallE(model.id) ? 'standard' : undefined) };
}

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  const model = prepareRequest(info, MODELS, req);
  const auth = { authorization: `Bearer ${requireKey(info, ctx)}` };
  const size = wireSize(req, model);
  const common: Record<string, unknown> = { ...req.providerOptions, model: req.model, prompt: req.prompt, n: req.n, size };
  if (req.quality !== undefined) common.quality = req.quality;
  if (isDallE(req.model) && common.response_format === undefined) common.response_format = 'b64_json';

  let init: RequestInit;
  let url: string;
  if (req.initImage) {
    const form = new FormData();
    for (const [name, value] of Object.entries(common)) form.append(name, String(value));
    const ext = req.initImage.mime.split('/')[1] ?? 'png';
    form.append('image[]', toBlob(req.initImage.bytes, req.initImage.mime), `input.${ext}`);
    url = `${ctx.baseUrl}/images/edits`;
    init = { method: 'POST', headers: auth, body: form };
  } else {
    url = `${ctx.baseUrl}/images/generations`;
    init = { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(common) };
  }
  // The SDK re-sends 5xx answers; a dropped connection is not re-sent (it may have been billed).
  const { data, response } = await requestJson(dialect, ctx, url, init, ImagesResponse, 'image response', {
    idempotent: false,
    model: req.model,
    rule: (e) => e.retryable,
  });
  const images = await Promise.all(
    data.data.map((item) => {
      if (item.b64_json) return imageFromBase64(dialect, item.b64_json, 'b64_json image');
      if (item.url) return downloadImage(dialect, ctx, item.url);
      throw malformed(dialect, 'image response', 'an image has neither b64_json nor url');
    }),
  );
  const usage = data.usage;
  const cost = actualCost('openai', req.model, {
    images: images.length,
    shape: pricedShape(req, model),
    reported: usage
      ? {
          kind: 'tokens',
          textInput: usage.input_tokens_details?.text_tokens ?? (usage.input_tokens_details ? 0 : usage.input_tokens),
          imageInput: usage.input_tokens_details?.image_tokens ?? 0,
          imageOutput: usage.output_tokens,
        }
      : undefined,
  });
  return {
    kind: 'done',
    images,
    actualCost: cost,
    usage: usage ? { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens } : undefined,
    requestId: response.headers.get('x-request-id') ?? undefined,
  };
}

export const openaiProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate(req) {
    const model = MODELS.find((m) => m.id === req.model);
    return estimateCost('openai', req.model, req, model ? pricedShape(req, model) : undefined);
  },
  submit,
  poll: (job) => nothingToPoll(dialect, job),
  verifyKey: (ctx) => verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/models`, () => ({ authorization: `Bearer ${requireKey(info, ctx)}` })),
};
