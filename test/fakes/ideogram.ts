import { randomUUID } from 'node:crypto';
import { FakeServer, png, type FakeResponse } from './harness.js';

/**
 * Ideogram 3.0 as the reference describes it: `Api-Key` header, multipart, synchronous, links that
 * expire (24 h), 422 for safety failures, `is_image_safe: false` with an empty URL for unsafe outputs,
 * 402 for billing and 429 `inflight_limit`.
 */

const SPEEDS = new Set(['TURBO', 'DEFAULT', 'QUALITY', 'FLASH']);
const RATIOS = new Set(['1x3', '3x1', '1x2', '2x1', '9x16', '16x9', '10x16', '16x10', '2x3', '3x2', '3x4', '4x3', '4x5', '5x4', '1x1']);

export type IdeogramFake = FakeServer & { state: { unsafeOutputs: boolean } };

export async function startIdeogramFake(key: string): Promise<IdeogramFake> {
  const state = { unsafeOutputs: false };
  const error = (status: number, message: string, extra: Record<string, unknown> = {}): FakeResponse => ({ status, json: { error: message, ...extra } });
  const server = new FakeServer({
    authorize: (req) => req.headers['api-key'] === key,
    unauthorized: () => error(401, 'Unauthorized'),
    error: (status, message) => (status === 429 ? error(429, 'Too many requests in flight', { reject_reason: 'inflight_limit', max_inflight_requests: 10 }) : error(status, message)),
  });
  server.route({
    method: 'POST',
    path: /^\/v1\/ideogram-v3\/generate$/,
    kind: 'submit',
    handle: async (req) => {
      if (!String(req.headers['content-type']).startsWith('multipart/form-data')) return error(400, 'Expected multipart/form-data');
      const form = await req.form();
      const prompt = form.get('prompt');
      if (typeof prompt !== 'string' || !prompt) return error(422, 'prompt: field required');
      const speed = String(form.get('rendering_speed') ?? 'DEFAULT');
      if (!SPEEDS.has(speed)) return error(422, `rendering_speed: invalid value ${speed}`);
      const ratio = form.get('aspect_ratio');
      if (ratio !== null && !RATIOS.has(String(ratio))) return error(422, `aspect_ratio: invalid value ${String(ratio)}`);
      if (server.consume('submit', 'moderation')) return error(422, 'Prompt or provided image failed the safety checks');
      const count = Number(form.get('num_images') ?? 1);
      const image = await png(16, 16);
      const data = Array.from({ length: count }, (_, i) => ({
        url: state.unsafeOutputs ? '' : server.issueFile(image, 'image/png', { ttlMs: 24 * 3600_000 }),
        prompt,
        resolution: '1024x1024',
        seed: 1000 + i,
        style_type: 'GENERAL',
        is_image_safe: !state.unsafeOutputs,
      }));
      return { headers: { 'x-request-id': randomUUID() }, json: { created: new Date().toISOString(), data } };
    },
  });
  return Object.assign(await server.start(), { state });
}
