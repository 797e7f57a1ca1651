import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { FakeServer, png, type FakeResponse } from './harness.js';

/**
 * Black Forest Labs as the reference describes it: `x-key` auth (not Authorization), async submit
 * answering `{ id, polling_url, cost, input_mp, output_mp }`, statuses Pending → Ready with a signed
 * `result.sample` that expires, moderation as a status, 402 for missing credits.
 */

const MODELS = new Set(['flux-2-pro', 'flux-2-max', 'flux-2-klein-4b', 'flux-pro-1.1', 'flux-pro-1.1-ultra', 'flux-dev']);
const FIRST_MP_CENTS: Record<string, number> = { 'flux-2-pro': 3, 'flux-2-max': 7, 'flux-2-klein-4b': 1.4 };
const FLAT_CENTS: Record<string, number> = { 'flux-pro-1.1': 4, 'flux-pro-1.1-ultra': 6, 'flux-dev': 2.5 };

const Body = z.object({ prompt: z.string().min(1), width: z.number().optional(), height: z.number().optional(), aspect_ratio: z.string().optional(), seed: z.number().optional() });

interface Task {
  id: string;
  polls: number;
  seed: number;
}

export type BflFake = FakeServer & { state: { pollsBeforeReady: number; credits: number; samplesExpireAtOnce: boolean } };

export async function startBflFake(key: string): Promise<BflFake> {
  const state = { pollsBeforeReady: 1, credits: 1000, samplesExpireAtOnce: false };
  const tasks = new Map<string, Task>();
  const error = (status: number, detail: string): FakeResponse => ({ status, json: { detail } });
  const server = new FakeServer({
    authorize: (req) => req.headers['x-key'] === key && req.headers.authorization === undefined,
    unauthorized: () => error(403, 'Not authenticated - Invalid Authentication'),
    error,
  });
  server
    .route({
      method: 'POST',
      path: /^\/v1\/([a-z0-9.-]+)$/,
      kind: 'submit',
      handle: (req, m) => {
        const model = m[1] ?? '';
        if (!MODELS.has(model)) return error(404, 'Not Found');
        const body = Body.safeParse(req.json());
        if (!body.success) return { status: 422, json: { detail: body.error.issues.map((i) => ({ loc: ['body', ...i.path.map(String)], msg: i.message })) } };
        if (state.credits <= 0) return error(402, 'Insufficient credits');
        const megapixels = Math.round((((body.data.width ?? 1024) * (body.data.height ?? 768)) / 1_048_576) * 100) / 100;
        const first = FIRST_MP_CENTS[model];
        const cost = first !== undefined ? first + Math.max(0, megapixels - 1) * first * 0.5 : (FLAT_CENTS[model] ?? 0);
        const task: Task = { id: randomUUID(), polls: 0, seed: body.data.seed ?? 31337 };
        tasks.set(task.id, task);
        return { json: { id: task.id, polling_url: `${server.origin}/v1/get_result?id=${task.id}`, cost, input_mp: 0, output_mp: megapixels } };
      },
    })
    .route({
      method: 'GET',
      path: /^\/v1\/get_result$/,
      kind: 'poll',
      handle: async (req) => {
        const id = req.url.searchParams.get('id') ?? '';
        const task = tasks.get(id);
        if (!task) return { json: { id, status: 'Task not found' } };
        task.polls += 1;
        if (task.polls <= state.pollsBeforeReady) return { json: { id, status: 'Pending', progress: 0.5 } };
        if (server.consume('poll', 'moderation')) return { json: { id, status: 'Content Moderated', result: null } };
        // Signed sample links expire after 10 minutes; the fake's work once.
        const sample = server.issueFile(await png(16, 16), 'image/png', { ttlMs: state.samplesExpireAtOnce ? -1 : 10 * 60_000 });
        return { json: { id, status: 'Ready', result: { sample, prompt: 'p', seed: task.seed, duration: 3.1 } } };
      },
    });
  return Object.assign(await server.start(), { state });
}
