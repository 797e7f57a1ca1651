import { z } from 'zod';
import { FakeServer, png, type FakeRequest, type FakeResponse } from './harness.js';

/**
 * The Gemini API as the reference describes it: `x-goog-api-key` (or `?key=`), a bad key answered
 * with 400 INVALID_ARGUMENT / API_KEY_INVALID, `:generateContent` returning inlineData parts and
 * `usageMetadata`, prompt blocks in `promptFeedback.blockReason`, 429 RESOURCE_EXHAUSTED with a
 * RetryInfo delay, and Imagen `:predict` shut down (404 naming the model) unless a test revives it.
 */

const GEMINI = new Set(['gemini-3.1-flash-image', 'gemini-3-pro-image', 'gemini-2.5-flash-image']);
const IMAGE_TOKENS: Record<string, number> = { '1K': 1120, '2K': 1680, '4K': 2520 };

function googleError(code: number, status: string, message: string, details: unknown[] = []): FakeResponse {
  return { status: code, json: { error: { code, message, status, details } } };
}

const keyOf = (req: FakeRequest): string | undefined => {
  const header = req.headers['x-goog-api-key'];
  return typeof header === 'string' ? header : (req.url.searchParams.get('key') ?? undefined);
};

const GenerateBody = z.object({
  contents: z.array(z.object({ parts: z.array(z.object({ text: z.string().optional(), inlineData: z.object({ mimeType: z.string(), data: z.string() }).optional() })) })),
  generationConfig: z.object({ responseModalities: z.array(z.string()), imageConfig: z.object({ aspectRatio: z.string().optional(), imageSize: z.string().optional() }).optional() }),
});

export type GoogleFake = FakeServer & { state: { imagenStillServed: boolean; imagenFiltersAll: boolean } };

export async function startGoogleFake(key: string): Promise<GoogleFake> {
  const state = { imagenStillServed: false, imagenFiltersAll: false };
  const server = new FakeServer(
    {
      authorize: (req) => keyOf(req) === key,
      unauthorized: () =>
        googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
        ]),
      error: (status, message) =>
        status === 429
          ? googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }])
          : googleError(status, status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', message),
    },
    '/v1beta',
  );
  server
    .route({
      method: 'POST',
      path: /^\/models\/([^/:]+):generateContent$/,
      kind: 'submit',
      handle: async (req, m) => {
        const model = m[1] ?? '';
        if (!GEMINI.has(model)) return googleError(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent.`);
        const body = GenerateBody.safeParse(req.json());
        if (!body.success) return googleError(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. ${body.error.issues[0]?.message ?? ''}`);
        const usage = { promptTokenCount: 9, candidatesTokenCount: 0, totalTokenCount: 9 };
        if (server.consume('submit', 'moderation')) return { json: { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: usage } };
        const size = body.data.generationConfig.imageConfig?.imageSize ?? '1K';
        const tokens = model === 'gemini-2.5-flash-image' ? 1290 : (IMAGE_TOKENS[size] ?? 1120);
        const data = (await png(16, 16)).toString('base64');
        return {
          json: {
            candidates: [{ content: { role: 'model', parts: [{ text: 'Here is your image.' }, { inlineData: { mimeType: 'image/png', data } }] }, finishReason: 'STOP' }],
            usageMetadata: {
              promptTokenCount: 9,
              candidatesTokenCount: tokens + 6,
              totalTokenCount: tokens + 15,
              candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: 6 }, { modality: 'IMAGE', tokenCount: tokens }],
            },
          },
        };
      },
    })
    .route({
      method: 'POST',
      path: /^\/models\/([^/:]+):predict$/,
      kind: 'submit',
      handle: async (req, m) => {
        const model = m[1] ?? '';
        if (!state.imagenStillServed) return googleError(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for predict.`);
        const parsed = z.object({ parameters: z.object({ sampleCount: z.number() }) }).safeParse(req.json());
        const count = state.imagenFiltersAll ? 0 : parsed.success ? parsed.data.parameters.sampleCount : 1;
        const data = (await png(16, 16)).toString('base64');
        return { json: { predictions: Array.from({ length: count }, () => ({ bytesBase64Encoded: data, mimeType: 'image/png' })) } };
      },
    })
    .route({ method: 'GET', path: /^\/models$/, kind: 'verify', handle: () => ({ json: { models: [{ name: 'models/gemini-3.1-flash-image' }] } }) });
  return Object.assign(await server.start(), { state });
}
