import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bearerToken, FakeServer, png, type FakeResponse } from './harness.js';

/**
 * Replicate as the reference describes it: Bearer auth, official models at
 * `/models/{owner}/{name}/predictions`, community models by version at `/predictions`, `Prefer: wait`,
 * prediction objects polled at `urls.get`, outputs as expiring file URLs, `metrics.predict_time`.
 */

export const SDXL_VERSION = '7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc';
const OFFICIAL = new Set(['black-forest-labs/flux-schnell', 'black-forest-labs/flux-dev', 'black-forest-labs/flux-1.1-pro']);

interface Prediction {
  id: string;
  model: string;
  input: Record<string, unknown>;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  polls: number;
  output: string[] | null;
  error: string | null;
}

function problem(status: number, detail: string): FakeResponse {
  return { status, json: { title: status === 429 ? 'Request was throttled' : 'Error', detail, status } };
}

const Create = z.object({ input: z.record(z.string(), z.unknown()), version: z.string().optional() });

export type ReplicateFake = FakeServer & { state: { finishWithinWait: boolean; pollsBeforeDone: number } };

export async function startReplicateFake(key: string): Promise<ReplicateFake> {
  const state = { finishWithinWait: false, pollsBeforeDone: 1 };
  const predictions = new Map<string, Prediction>();
  const server = new FakeServer(
    {
      authorize: (req) => bearerToken(req) === key,
      unauthorized: () => ({ status: 401, json: { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 } }),
      error: (status, message) => problem(status, status === 429 ? 'Request was throttled. Your rate limit resets in ~30s.' : message),
    },
    '/v1',
  );

  const view = (p: Prediction): Record<string, unknown> => ({
    id: p.id,
    model: p.model,
    version: p.model === 'stability-ai/sdxl' ? SDXL_VERSION : 'hidden',
    status: p.status,
    input: p.input,
    output: p.output,
    error: p.error,
    logs: '',
    data_removed: false,
    metrics: p.status === 'succeeded' ? { predict_time: 3.2, total_time: 3.9 } : {},
    created_at: new Date().toISOString(),
    urls: { get: `${server.url}/predictions/${p.id}`, cancel: `${server.url}/predictions/${p.id}/cancel` },
  });

  const finish = async (p: Prediction): Promise<void> => {
    if (server.consume('poll', 'moderation')) {
      p.status = 'failed';
      p.error = 'NSFW content detected. Try running it again, or try a different prompt.';
      return;
    }
    const count = typeof p.input.num_outputs === 'number' ? p.input.num_outputs : 1;
    const image = await png(16, 16);
    p.status = 'succeeded';
    // Outputs are deleted after an hour; the fake's links work once, for a few seconds.
    p.output = Array.from({ length: count }, () => server.issueFile(image));
  };

  const create = async (model: string, body: unknown, prefer: string | undefined): Promise<FakeResponse> => {
    const parsed = Create.safeParse(body);
    if (!parsed.success) return problem(422, 'input: required');
    if (typeof parsed.data.input.prompt !== 'string') return problem(422, 'input.prompt: required');
    const p: Prediction = { id: randomUUID().slice(0, 26), model, input: parsed.data.input, status: 'starting', polls: 0, output: null, error: null };
    predictions.set(p.id, p);
    if (prefer?.startsWith('wait') && state.finishWithinWait) await finish(p);
    return { status: 201, json: view(p) };
  };

  server
    .route({
      method: 'POST',
      path: /^\/models\/([^/]+\/[^/]+)\/predictions$/,
      kind: 'submit',
      handle: (req, m) => {
        const model = m[1] ?? '';
        if (!OFFICIAL.has(model)) return problem(404, `Model ${model} is not an official model; run it by version.`);
        return create(model, req.json(), req.header('prefer'));
      },
    })
    .route({
      method: 'POST',
      path: /^\/predictions$/,
      kind: 'submit',
      handle: (req) => {
        const parsed = Create.safeParse(req.json());
        if (!parsed.success || parsed.data.version !== SDXL_VERSION) return problem(422, 'version: invalid');
        return create('stability-ai/sdxl', parsed.data, req.header('prefer'));
      },
    })
    .route({
      method: 'GET',
      path: /^\/predictions\/([^/]+)$/,
      kind: 'poll',
      handle: async (_req, m) => {
        const p = predictions.get(m[1] ?? '');
        if (!p) return problem(404, 'Not found.');
        if (p.status === 'starting' || p.status === 'processing') {
          p.polls += 1;
          if (p.polls > state.pollsBeforeDone) await finish(p);
          else p.status = 'processing';
        }
        return { json: view(p) };
      },
    })
    .route({
      method: 'POST',
      path: /^\/predictions\/([^/]+)\/cancel$/,
      kind: 'other',
      handle: (_req, m) => {
        const p = predictions.get(m[1] ?? '');
        if (!p) return problem(404, 'Not found.');
        if (p.status === 'starting' || p.status === 'processing') p.status = 'canceled';
        return { json: view(p) };
      },
    })
    .route({
      method: 'GET',
      path: /^\/models\/([^/]+\/[^/]+)$/,
      kind: 'verify',
      handle: (_req, m) => ({ json: { owner: m[1]?.split('/')[0], name: m[1]?.split('/')[1], latest_version: { id: m[1] === 'stability-ai/sdxl' ? SDXL_VERSION : randomUUID() } } }),
    });
  return Object.assign(await server.start(), { state });
}
