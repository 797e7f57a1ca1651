import { randomUUID } from 'node:crypto';
import { bearerToken, FakeServer, png, type FakeResponse } from './harness.js';

/**
 * Stability REST v2beta as the reference describes it: Bearer auth, multipart only, raw image bytes
 * for `Accept: image/*` with `finish-reason` and `seed` headers, 403 `content_moderation`, and
 * `GET /v1/user/balance` for the key check.
 */

const RATIOS = new Set(['16:9', '1:1', '21:9', '2:3', '3:2', '4:5', '5:4', '9:16', '9:21']);
const SD3_MODELS = new Set(['sd3.5-large', 'sd3.5-large-turbo', 'sd3.5-medium', 'sd3.5-flash']);

function error(status: number, name: string, ...errors: string[]): FakeResponse {
  return { status, json: { id: randomUUID().replace(/-/g, ''), name, errors } };
}

export type StabilityFake = FakeServer & { state: { contentFiltered: boolean } };

export async function startStabilityFake(key: string): Promise<StabilityFake> {
  const state = { contentFiltered: false };
  const server = new FakeServer({
    authorize: (req) => bearerToken(req) === key,
    unauthorized: () => error(401, 'unauthorized', 'authorization: invalid or missing'),
    error: (status, message) => error(status, status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'internal_error' : 'bad_request', message),
  });
  server
    .route({
      method: 'POST',
      path: /^\/v2beta\/stable-image\/generate\/(ultra|core|sd3)$/,
      kind: 'submit',
      handle: async (req, match) => {
        if (!String(req.headers['content-type']).startsWith('multipart/form-data')) {
          return error(400, 'bad_request', 'content-type: must be multipart/form-data');
        }
        const form = await req.form();
        const prompt = form.get('prompt');
        if (typeof prompt !== 'string' || prompt.length === 0) return error(400, 'bad_request', 'prompt: cannot be empty');
        const ratio = form.get('aspect_ratio');
        if (ratio !== null && !RATIOS.has(String(ratio))) return error(400, 'bad_request', `aspect_ratio: must be one of ${[...RATIOS].join(', ')}`);
        if (match[1] === 'sd3' && !SD3_MODELS.has(String(form.get('model') ?? 'sd3.5-large'))) return error(400, 'bad_request', 'model: unknown');
        if (match[1] === 'core' && form.get('image') !== null) return error(400, 'bad_request', 'image: not accepted by core');
        if (server.consume('submit', 'moderation')) {
          return error(403, 'content_moderation', 'Your request was flagged by our content moderation system, as a result your request was denied and you were not charged.');
        }
        if (String(req.headers.accept) !== 'image/*') return { json: { image: (await png()).toString('base64'), finish_reason: 'SUCCESS', seed: 42 } };
        const seed = form.get('seed') ?? '1234';
        return {
          headers: {
            'content-type': 'image/png',
            'x-request-id': randomUUID(),
            'finish-reason': state.contentFiltered ? 'CONTENT_FILTERED' : 'SUCCESS',
            seed: String(seed),
          },
          body: await png(16, 16),
        };
      },
    })
    .route({ method: 'GET', path: /^\/v1\/user\/balance$/, kind: 'verify', handle: () => ({ json: { credits: 1234.5 } }) });
  return Object.assign(await server.start(), { state });
}
