import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bearerToken, FakeServer, png, type FakeResponse } from './harness.js';

/**
 * OpenAI Images API as the reference describes it: Bearer auth, synchronous JSON (multipart for
 * edits), base64 for GPT image models with a `usage` object, 60-minute URLs for DALL·E in url mode,
 * 400 `moderation_blocked` refusals, and retired models answered with a 404 naming them.
 */

const CURRENT = new Set(['gpt-image-2', 'gpt-image-1.5', 'gpt-image-1-mini']);
const RETIRED = new Set(['gpt-image-1', 'dall-e-3']);
const GPT_SIZES = new Set(['1024x1024', '1536x1024', '1024x1536', 'auto']);
const OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

function error(status: number, message: string, code: string | null = null, type = 'invalid_request_error'): FakeResponse {
  return { status, headers: { 'x-request-id': `req_${randomUUID()}` }, json: { error: { message, type, param: null, code } } };
}

const GenerationBody = z.object({
  model: z.string().default('dall-e-2'),
  prompt: z.string(),
  n: z.number().int().default(1),
  size: z.string().default('1024x1024'),
  quality: z.string().optional(),
  response_format: z.string().optional(),
});

export type OpenAIFake = FakeServer & {
  /** Models the fake serves although the real API has retired them (a proxy that still has them). */
  servedAnyway: Set<string>;
  /** Billing exhausted: every generation gets 429 insufficient_quota. */
  state: { quotaExhausted: boolean };
};

export async function startOpenAIFake(key: string): Promise<OpenAIFake> {
  const server = new FakeServer(
    {
      authorize: (req) => bearerToken(req) === key,
      // The real API echoes (part of) the wrong key back; the fake echoes all of it to test redaction.
      unauthorized: (req) => error(401, `Incorrect API key provided: ${bearerToken(req) ?? ''}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_api_key'),
      error: (status, message) => error(status, message, status === 429 ? 'rate_limit_exceeded' : null, status >= 500 ? 'server_error' : 'requests'),
    },
    '/v1',
  );
  const servedAnyway = new Set<string>();
  const state = { quotaExhausted: false };

  const generate = async (fields: z.infer<typeof GenerationBody>): Promise<FakeResponse> => {
    const { model } = fields;
    if (state.quotaExhausted) return error(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota');
    if (RETIRED.has(model) && !servedAnyway.has(model)) {
      return error(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'model_not_found');
    }
    if (!CURRENT.has(model) && !RETIRED.has(model)) return error(400, `Invalid value for 'model': '${model}'.`, 'invalid_value');
    if (server.consume('submit', 'moderation')) {
      return error(400, 'Your request was rejected as a result of our safety system. Your request may contain content that is not allowed by our safety system.', 'moderation_blocked', 'image_generation_user_error');
    }
    const dalle = model.startsWith('dall-e');
    if (dalle && fields.n !== 1) return error(400, "Invalid 'n': dall-e-3 only supports n=1.", 'invalid_value');
    if (!dalle && !GPT_SIZES.has(fields.size)) return error(400, `Invalid value for 'size': '${fields.size}'.`, 'invalid_value');
    if (!dalle && fields.response_format !== undefined) return error(400, "Unknown parameter: 'response_format'.", 'unknown_parameter');
    const image = await png(16, 16);
    const data = Array.from({ length: fields.n }, () =>
      dalle && fields.response_format !== 'b64_json'
        ? { url: server.issueFile(image), revised_prompt: fields.prompt }
        : { b64_json: image.toString('base64') },
    );
    const quality = fields.quality === undefined || fields.quality === 'auto' ? 'medium' : fields.quality;
    const perImage = OUTPUT_TOKENS[quality]?.[fields.size === 'auto' ? '1024x1024' : fields.size] ?? 1056;
    const textTokens = Math.ceil(fields.prompt.length / 4);
    const usage = dalle
      ? undefined
      : {
          input_tokens: textTokens,
          input_tokens_details: { text_tokens: textTokens, image_tokens: 0 },
          output_tokens: perImage * fields.n,
          total_tokens: textTokens + perImage * fields.n,
        };
    return { headers: { 'x-request-id': `req_${randomUUID()}` }, json: { created: 1_790_000_000, data, ...(usage ? { usage } : {}) } };
  };

  const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

  server
    .route({
      method: 'POST',
      path: /^\/images\/generations$/,
      kind: 'submit',
      handle: (req) => {
        const body = GenerationBody.safeParse(req.json());
        return body.success ? generate(body.data) : error(400, `Invalid request: ${body.error.issues[0]?.message ?? 'bad body'}`);
      },
    })
    .route({
      method: 'POST',
      path: /^\/images\/edits$/,
      kind: 'submit',
      handle: async (req) => {
        if (!String(req.headers['content-type']).startsWith('multipart/form-data')) return error(400, 'Edits take multipart/form-data.');
        const form = await req.form();
        const image = form.get('image[]');
        if (!(image instanceof Blob) || image.size === 0) return error(400, "Missing required parameter: 'image'.", 'missing_required_parameter');
        const quality = form.get('quality');
        return generate({
          model: str(form.get('model'), 'gpt-image-1.5'),
          prompt: str(form.get('prompt')),
          n: Number(form.get('n') ?? 1),
          size: str(form.get('size'), '1024x1024'),
          quality: typeof quality === 'string' ? quality : undefined,
        });
      },
    })
    .route({ method: 'GET', path: /^\/models$/, kind: 'verify', handle: () => ({ json: { object: 'list', data: [{ id: 'gpt-image-2', object: 'model' }] } }) });
  return Object.assign(await server.start(), { servedAnyway, state });
}
