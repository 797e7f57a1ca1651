import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bearerToken, FakeServer, png, type FakeResponse } from './harness.js';

/**
 * Leonardo.Ai as the reference describes it: Bearer auth, `POST /generations` answering
 * `sdGenerationJob { generationId, apiCreditCost }`, `GET /generations/{id}` with
 * `generations_by_pk` going PENDING → COMPLETE, `nsfw` flags on images, `GET /me` for the key check.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const Body = z.object({ prompt: z.string().min(1), modelId: z.string().regex(UUID), width: z.number(), height: z.number(), num_images: z.number().int().min(1).max(8), seed: z.number().optional() });

interface Generation {
  id: string;
  polls: number;
  count: number;
  seed: number;
}

export async function startLeonardoFake(key: string): Promise<FakeServer> {
  const generations = new Map<string, Generation>();
  const error = (status: number, message: string): FakeResponse => ({ status, json: { error: message, path: '$', code: status === 401 ? 'invalid-jwt' : 'unexpected' } });
  const server = new FakeServer({ authorize: (req) => bearerToken(req) === key, unauthorized: () => error(401, 'Invalid token'), error }, '/api/rest/v1');
  server
    .route({
      method: 'POST',
      path: /^\/generations$/,
      kind: 'submit',
      handle: (req) => {
        const body = Body.safeParse(req.json());
        if (!body.success) return error(400, `${body.error.issues[0]?.path.join('.') ?? 'body'}: ${body.error.issues[0]?.message ?? 'invalid'}`);
        const g: Generation = { id: randomUUID(), polls: 0, count: body.data.num_images, seed: body.data.seed ?? 777 };
        generations.set(g.id, g);
        return { json: { sdGenerationJob: { generationId: g.id, apiCreditCost: 0.012 * g.count } } };
      },
    })
    .route({
      method: 'GET',
      path: /^\/generations\/([^/]+)$/,
      kind: 'poll',
      handle: async (_req, m) => {
        const g = generations.get(m[1] ?? '');
        if (!g) return { json: { generations_by_pk: null } };
        g.polls += 1;
        if (g.polls <= 1) return { json: { generations_by_pk: { id: g.id, status: 'PENDING', generated_images: [], seed: g.seed } } };
        const nsfw = server.consume('poll', 'moderation');
        const image = await png(16, 16);
        const generated_images = Array.from({ length: g.count }, () => ({ id: randomUUID(), url: server.issueFile(image), nsfw }));
        return { json: { generations_by_pk: { id: g.id, status: 'COMPLETE', generated_images, seed: g.seed, imageWidth: 1024, imageHeight: 1024 } } };
      },
    })
    .route({ method: 'GET', path: /^\/me$/, kind: 'verify', handle: () => ({ json: { user_details: [{ user: { id: randomUUID(), username: 'studio' }, apiPaidTokens: 12 }] } }) });
  return server.start();
}
