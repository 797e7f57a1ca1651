import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { FakeServer, png, type FakeResponse } from './harness.js';

/**
 * A ComfyUI server as the reference describes it: no auth, `POST /prompt` validating the API-format
 * graph (400 with `node_errors`), `GET /history/{id}` empty until execution ends, `GET /view` for the
 * bytes, `POST /upload/image`, `/queue`, `/interrupt`, `/system_stats`.
 */

export const CHECKPOINTS = ['sd_xl_turbo_1.0_fp16.safetensors', 'v1-5-pruned-emaonly.safetensors'];

const Graph = z.record(z.string(), z.object({ class_type: z.string(), inputs: z.record(z.string(), z.unknown()) }));
const Body = z.object({ prompt: Graph, client_id: z.string().optional(), extra_data: z.record(z.string(), z.unknown()).optional() });

interface Queued {
  id: string;
  polls: number;
  count: number;
}

interface ComfyState {
  failExecution: boolean;
  uploads: string[];
  interrupted: number;
  deleted: string[];
  running: string | null;
}

export type ComfyFake = FakeServer & { state: ComfyState };

export async function startComfyFake(): Promise<ComfyFake> {
  const state: ComfyState = { failExecution: false, uploads: [], interrupted: 0, deleted: [], running: null };
  const queued = new Map<string, Queued>();
  const files = new Map<string, Buffer>();
  const error = (status: number, message: string): FakeResponse => ({ status, json: { error: { type: 'server_error', message, details: '', extra_info: {} }, node_errors: {} } });
  const server = new FakeServer({ authorize: () => true, unauthorized: () => error(403, 'forbidden'), error });
  server
    .route({
      method: 'POST',
      path: /^\/prompt$/,
      kind: 'submit',
      handle: (req) => {
        const body = Body.safeParse(req.json());
        if (!body.success) return { status: 400, json: { error: { type: 'invalid_prompt', message: 'Cannot execute because a node is missing the class_type property.', details: '', extra_info: {} }, node_errors: {} } };
        const nodes = Object.entries(body.data.prompt);
        const checkpoint = nodes.find(([, n]) => n.class_type === 'CheckpointLoaderSimple');
        const ckpt = checkpoint?.[1].inputs.ckpt_name;
        if (!checkpoint || typeof ckpt !== 'string' || !CHECKPOINTS.includes(ckpt)) {
          return {
            status: 400,
            json: {
              error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
              node_errors: { [checkpoint?.[0] ?? 'checkpoint']: { errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: `ckpt_name: '${String(ckpt)}' not in ${JSON.stringify(CHECKPOINTS)}` }], class_type: 'CheckpointLoaderSimple' } },
            },
          };
        }
        if (!nodes.some(([, n]) => n.class_type === 'SaveImage')) return { status: 400, json: { error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, node_errors: {} } };
        const latent = nodes.find(([, n]) => n.class_type === 'EmptyLatentImage' || n.class_type === 'RepeatLatentBatch')?.[1].inputs;
        const count = Number(latent?.batch_size ?? latent?.amount ?? 1);
        const q: Queued = { id: randomUUID(), polls: 0, count };
        queued.set(q.id, q);
        state.running = q.id;
        return { json: { prompt_id: q.id, number: queued.size, node_errors: {} } };
      },
    })
    .route({
      method: 'GET',
      path: /^\/history\/([^/]+)$/,
      kind: 'poll',
      handle: async (_req, m) => {
        const q = queued.get(m[1] ?? '');
        if (!q) return { json: {} };
        q.polls += 1;
        if (q.polls <= 1) return { json: {} };
        if (state.failExecution) {
          const messages = [['execution_start', { prompt_id: q.id }], ['execution_error', { prompt_id: q.id, node_id: 'sampler', node_type: 'KSampler', exception_message: 'CUDA out of memory.', exception_type: 'torch.OutOfMemoryError', traceback: [] }]];
          return { json: { [q.id]: { prompt: [], outputs: {}, status: { status_str: 'error', completed: false, messages } } } };
        }
        const images = [];
        for (let i = 0; i < q.count; i++) {
          const filename = `ImageBench_${String(files.size + 1).padStart(5, '0')}_.png`;
          files.set(filename, await png(16, 16));
          images.push({ filename, subfolder: '', type: 'output' });
        }
        const preview = { filename: 'ComfyUI_temp_0001.png', subfolder: '', type: 'temp' };
        return { json: { [q.id]: { prompt: [], outputs: { save: { images }, preview: { images: [preview] } }, status: { status_str: 'success', completed: true, messages: [] } } } };
      },
    })
    .route({
      method: 'GET',
      path: /^\/view$/,
      kind: 'download',
      handle: (req) => {
        const file = files.get(req.url.searchParams.get('filename') ?? '');
        if (!file || req.url.searchParams.get('type') !== 'output') return { status: 404, body: '' };
        return { headers: { 'content-type': 'image/png' }, body: file };
      },
    })
    .route({
      method: 'POST',
      path: /^\/upload\/image$/,
      kind: 'upload',
      handle: async (req) => {
        const image = (await req.form()).get('image');
        if (!(image instanceof File)) return { status: 400, body: '' };
        state.uploads.push(image.name);
        return { json: { name: image.name, subfolder: '', type: 'input' } };
      },
    })
    .route({ method: 'GET', path: /^\/queue$/, kind: 'other', handle: () => ({ json: { queue_running: state.running ? [[0, state.running, {}, {}, []]] : [], queue_pending: [] } }) })
    .route({
      method: 'POST',
      path: /^\/queue$/,
      kind: 'other',
      handle: (req) => {
        const body = z.object({ delete: z.array(z.string()).optional() }).parse(req.json());
        state.deleted.push(...(body.delete ?? []));
        return { status: 200, body: '' };
      },
    })
    .route({
      method: 'POST',
      path: /^\/interrupt$/,
      kind: 'other',
      handle: () => {
        state.interrupted += 1;
        return { status: 200, body: '' };
      },
    })
    .route({ method: 'GET', path: /^\/system_stats$/, kind: 'verify', handle: () => ({ json: { system: { os: 'posix', comfyui_version: '0.3.60' }, devices: [] } }) });
  return Object.assign(await server.start(), { state });
}
