import { z } from 'zod';
import { FakeServer, png, type FakeRequest, type FakeResponse } from './harness.js';

/**
 * An AUTOMATIC1111 / Forge server started with `--api --api-auth user:pass`: HTTP Basic, synchronous
 * `/sdapi/v1/txt2img` and `/img2img` answering base64 PNGs (a grid first when batching) and an
 * `info` JSON string with the seeds; FastAPI-style `{ detail }` errors; `/progress`, `/interrupt`,
 * `/sd-models`.
 */

const Body = z.object({
  prompt: z.string(),
  seed: z.number().int(),
  batch_size: z.number().int().min(1),
  width: z.number().int().multipleOf(8),
  height: z.number().int().multipleOf(8),
  init_images: z.array(z.string()).optional(),
  denoising_strength: z.number().optional(),
  steps: z.number().int().min(1).max(150).default(20),
  override_settings: z.object({ sd_model_checkpoint: z.string() }).optional(),
});

export type A1111Fake = FakeServer & { state: { interrupted: number } };

/** `credentials` is the `user:pass` given to `--api-auth`, or undefined for an open server. */
export async function startA1111Fake(credentials: string | undefined): Promise<A1111Fake> {
  const state = { interrupted: 0 };
  const error = (status: number, detail: string): FakeResponse => ({ status, json: { error: status >= 500 ? 'RuntimeError' : 'HTTPException', detail, body: '', errors: '' } });
  const authorized = (req: FakeRequest): boolean => credentials === undefined || req.headers.authorization === `Basic ${Buffer.from(credentials).toString('base64')}`;
  const server = new FakeServer({
    authorize: authorized,
    unauthorized: () => ({ status: 401, headers: { 'www-authenticate': 'Basic' }, json: { detail: 'Incorrect username or password' } }),
    error,
  });
  const generate = async (req: FakeRequest, img2img: boolean): Promise<FakeResponse> => {
    const body = Body.safeParse(req.json());
    if (!body.success) {
      return { status: 422, json: { detail: body.error.issues.map((i) => ({ loc: ['body', ...i.path.map(String)], msg: i.message, type: 'value_error' })) } };
    }
    if (img2img && !body.data.init_images?.length) return error(422, 'init_images: field required');
    const seed = body.data.seed === -1 ? 4242 : body.data.seed;
    const image = (await png(16, 16)).toString('base64');
    const grid = body.data.batch_size > 1 ? [(await png(32, 16, '#000000')).toString('base64')] : [];
    const images = [...grid, ...Array.from({ length: body.data.batch_size }, () => image)];
    const all_seeds = Array.from({ length: body.data.batch_size }, (_, i) => seed + i);
    return { json: { images, parameters: body.data, info: JSON.stringify({ seed, all_seeds, prompt: body.data.prompt }) } };
  };
  server
    .route({ method: 'POST', path: /^\/sdapi\/v1\/txt2img$/, kind: 'submit', handle: (req) => generate(req, false) })
    .route({ method: 'POST', path: /^\/sdapi\/v1\/img2img$/, kind: 'submit', handle: (req) => generate(req, true) })
    .route({ method: 'GET', path: /^\/sdapi\/v1\/progress$/, kind: 'other', handle: () => ({ json: { progress: 0.4, eta_relative: 2.5, state: { job_count: 1, sampling_step: 8, sampling_steps: 20 }, current_image: null, textinfo: null } }) })
    .route({
      method: 'POST',
      path: /^\/sdapi\/v1\/interrupt$/,
      kind: 'other',
      handle: () => {
        state.interrupted += 1;
        return { json: {} };
      },
    })
    .route({ method: 'GET', path: /^\/sdapi\/v1\/sd-models$/, kind: 'verify', handle: () => ({ json: [{ title: 'sd_xl_turbo_1.0_fp16.safetensors [e869ac7d69]', model_name: 'sd_xl_turbo_1.0_fp16' }] }) });
  return Object.assign(await server.start(), { state });
}
