import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { FakeServer, png, type FakeRequest, type FakeResponse } from './harness.js';

/**
 * fal's queue API as the reference describes it: `Authorization: Key …`, submit returns the status,
 * response and cancel URLs (under the base app id, without the sub-path), statuses IN_QUEUE →
 * IN_PROGRESS → COMPLETED, the result carries `has_nsfw_concepts` and the `x-fal-billable-units` header,
 * and the pricing API answers the key check.
 */

const MODELS = new Set(['fal-ai/flux/schnell', 'fal-ai/flux/dev', 'fal-ai/flux-pro/v1.1', 'fal-ai/flux-pro/v1.1-ultra']);

interface Request {
  id: string;
  app: string;
  input: z.infer<typeof Input>;
  polls: number;
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';
}

const Input = z.object({
  prompt: z.string(),
  num_images: z.number().int().min(1).max(4).default(1),
  image_size: z.object({ width: z.number(), height: z.number() }).optional(),
  aspect_ratio: z.string().optional(),
  seed: z.number().optional(),
  num_inference_steps: z.number().int().min(1).max(12).optional(),
});

const keyOf = (req: FakeRequest): string | undefined => {
  const header = req.headers.authorization;
  return header?.startsWith('Key ') ? header.slice(4) : undefined;
};

export type FalFake = FakeServer & { state: { pollsBeforeDone: number } };

export async function startFalFake(key: string): Promise<FalFake> {
  const state = { pollsBeforeDone: 1 };
  const requests = new Map<string, Request>();
  const error = (status: number, detail: string): FakeResponse => ({ status, headers: { 'x-fal-request-id': randomUUID() }, json: { detail } });
  const server = new FakeServer({
    authorize: (req) => keyOf(req) === key,
    unauthorized: () => error(401, 'Invalid Key Authorization header format'),
    error,
  });
  const find = (id: string | undefined): Request | undefined => (id ? requests.get(id) : undefined);

  server
    .route({
      method: 'POST',
      path: /^\/(fal-ai\/[^/]+(?:\/[^/]+)*)$/,
      kind: 'submit',
      handle: (req, m) => {
        const model = m[1] ?? '';
        if (!MODELS.has(model)) return error(404, `Application '${model}' not found`);
        const input = Input.safeParse(req.json());
        if (!input.success) return { status: 422, json: { detail: input.error.issues.map((i) => ({ loc: ['body', ...i.path.map(String)], msg: i.message, type: 'value_error' })) } };
        const app = model.split('/').slice(0, 2).join('/');
        const r: Request = { id: randomUUID(), app, input: input.data, polls: 0, status: 'IN_QUEUE' };
        requests.set(r.id, r);
        const base = `${server.origin}/${app}/requests/${r.id}`;
        return { json: { request_id: r.id, response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel`, queue_position: 0 } };
      },
    })
    .route({
      method: 'GET',
      path: /^\/fal-ai\/[^/]+\/requests\/([^/]+)\/status$/,
      kind: 'poll',
      handle: (_req, m) => {
        const r = find(m[1]);
        if (!r) return error(404, 'Request not found');
        r.polls += 1;
        if (r.polls > state.pollsBeforeDone) r.status = 'COMPLETED';
        else if (r.polls > 0) r.status = 'IN_PROGRESS';
        return { status: r.status === 'COMPLETED' ? 200 : 202, json: { status: r.status, ...(r.status === 'IN_QUEUE' ? { queue_position: 0 } : { logs: [] }) } };
      },
    })
    .route({
      method: 'GET',
      path: /^\/fal-ai\/[^/]+\/requests\/([^/]+)$/,
      kind: 'result',
      handle: async (_req, m) => {
        const r = find(m[1]);
        if (!r || r.status !== 'COMPLETED') return error(400, 'Request is still in progress');
        const nsfw = server.consume('result', 'moderation');
        const width = r.input.image_size?.width ?? 1024;
        const height = r.input.image_size?.height ?? 1024;
        const image = await png(16, 16, nsfw ? '#000000' : '#3366cc');
        const images = Array.from({ length: r.input.num_images }, () => ({ url: server.issueFile(image), width, height, content_type: 'image/png' }));
        const megapixels = Math.ceil((width * height) / 1_048_576) * r.input.num_images;
        return {
          headers: { 'x-fal-billable-units': String(megapixels), 'x-fal-request-id': r.id },
          json: { images, seed: r.input.seed ?? 99, has_nsfw_concepts: images.map(() => nsfw), prompt: r.input.prompt, timings: { inference: 0.4 } },
        };
      },
    })
    .route({ method: 'PUT', path: /^\/fal-ai\/[^/]+\/requests\/([^/]+)\/cancel$/, kind: 'other', handle: () => ({ status: 202, json: { status: 'CANCELLATION_REQUESTED' } }) })
    .route({
      method: 'GET',
      path: /^\/v1\/models\/pricing$/,
      kind: 'verify',
      handle: (req) => ({ json: { prices: [{ endpoint_id: req.url.searchParams.get('endpoint_id'), unit_price: 0.003, unit: 'megapixels', currency: 'USD' }] } }),
    });
  return Object.assign(await server.start(), { state });
}
