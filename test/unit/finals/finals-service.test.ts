import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { usdToMicros } from '../../../src/contract/money.js';
import type { ProviderId } from '../../../src/contract/providers.js';
import type { FinalRequestInput } from '../../../src/core/finals/final-request.js';
import { readParameters } from '../../../src/core/images/generation-parameters.js';
import { startBflFake } from '../../fakes/bfl.js';
import { startFalFake } from '../../fakes/fal.js';
import type { FakeServer } from '../../fakes/harness.js';
import { startLeonardoFake } from '../../fakes/leonardo.js';
import { startOpenAIFake } from '../../fakes/openai.js';
import { startReplicateFake } from '../../fakes/replicate.js';
import { startStabilityFake } from '../../fakes/stability.js';
import { filesContaining, makeTempDir } from '../../helpers/tmp.js';
import { openFinals, until, type FinalsEnv, type FinalsEnvOptions } from './finals-env.js';

const KEY = 'sk-test-FINALS-key-0123456789abcdef';
const WRONG_KEY = 'sk-test-FINALS-wrong-fedcba9876543210';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fake<F extends FakeServer>(start: Promise<F>): Promise<F> {
  const server = await start;
  cleanups.push(() => server.close());
  return server;
}

function finals(providers: FinalsEnvOptions['providers'], service?: FinalsEnvOptions['service'], dataDir?: string): FinalsEnv {
  let dir = dataDir;
  if (!dir) {
    const tmp = makeTempDir('imagebench-finals-');
    cleanups.push(tmp.cleanup);
    dir = tmp.dir;
  }
  const env = openFinals({ dataDir: dir, providers, service });
  cleanups.push(env.close);
  return env;
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

interface HappyCase {
  provider: ProviderId;
  start: (key: string) => Promise<FakeServer>;
  request: FinalRequestInput;
  source: 'provider-reported' | 'price-table';
  usd: number;
}

const happy: HappyCase[] = [
  {
    provider: 'openai',
    start: startOpenAIFake,
    request: { provider: 'openai', model: 'gpt-image-1.5', prompt: 'a lighthouse at dusk', width: 1024, height: 1024, n: 1, quality: 'low' },
    source: 'provider-reported',
    // 272 image-out tokens × $32/1M + 5 prompt tokens × $5/1M, from the fake's `usage`.
    usd: 0.008729,
  },
  {
    provider: 'stability',
    start: startStabilityFake,
    request: { provider: 'stability', model: 'core', prompt: 'a red bicycle in the rain', aspectRatio: '16:9', n: 1, seed: 7 },
    source: 'price-table',
    usd: 0.03,
  },
  {
    provider: 'replicate',
    start: startReplicateFake,
    request: { provider: 'replicate', model: 'black-forest-labs/flux-schnell', prompt: 'a koi pond from above', aspectRatio: '1:1', n: 2, seed: 42 },
    source: 'price-table',
    usd: 0.006,
  },
  {
    provider: 'bfl',
    start: startBflFake,
    request: { provider: 'bfl', model: 'flux-2-pro', prompt: 'a glass teapot on linen', width: 1024, height: 1024, n: 1, seed: 11 },
    source: 'provider-reported',
    usd: 0.03,
  },
  {
    provider: 'fal',
    start: startFalFake,
    request: { provider: 'fal', model: 'fal-ai/flux/schnell', prompt: 'paper boats on a lake', width: 1024, height: 1024, n: 1, seed: 5 },
    source: 'provider-reported',
    usd: 0.003,
  },
];

describe('a final from each kind of provider', () => {
  it.each(happy)('$provider: image in the store with its parameters, ledger settled to the actual, estimate kept', async (c) => {
    const server = await fake(c.start(KEY));
    const { service, ledger, images, events } = finals({ [c.provider]: { key: KEY, url: server.url } });
    const id = await service.submit(c.request);
    const job = await service.wait(id);

    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(server.counts.submit).toBe(1);
    expect(job.imageIds).toHaveLength(c.request.n ?? 1);
    expect(job.actual).toMatchObject({ source: c.source, usd: c.usd });
    for (const imageId of job.imageIds) {
      const stored = images.get(imageId);
      expect(stored).toMatchObject({ source: 'cloud-final', parameters: { prompt: c.request.prompt, provider: c.provider, model: c.request.model } });
      // The parameters travel inside the PNG itself, as A1111 text and as our JSON.
      expect(readParameters(await images.read(imageId))).toMatchObject({ prompt: c.request.prompt, provider: c.provider, model: c.request.model });
    }

    const entry = ledger.get(job.ledgerRequestId ?? '');
    expect(entry).toMatchObject({ status: 'settled', provider: c.provider, model: c.request.model, actualMicros: usdToMicros(c.usd), actualSource: c.source });
    expect(entry?.imageIds.sort()).toEqual([...new Set(job.imageIds)].sort());
    // Both the price shown before and the price paid after are kept, on the job and in the ledger.
    expect(entry?.estimate.kind).toBe(job.estimate.kind);
    expect(entry?.reservedMicros).toBe(entry?.estimate.maxMicros);
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['queued', 'progress', 'succeeded']));
    expect(events.at(-1)?.kind).toBe('succeeded');
  });
});

describe('never paying twice', () => {
  it('answers a repeat from the exact cache: no second submission, no ledger row, "cached — saved $X"', async () => {
    const server = await fake(startReplicateFake(KEY));
    const { service, db } = finals({ replicate: { key: KEY, url: server.url } });
    const request: FinalRequestInput = { provider: 'replicate', model: 'black-forest-labs/flux-schnell', prompt: 'a koi pond  from above ', aspectRatio: '1:1', n: 1, seed: 42 };
    const first = await service.wait(await service.submit(request));
    const repeatId = await service.submit({ ...request, prompt: 'a koi pond from above' });
    const repeat = service.get(repeatId);

    expect(repeat).toMatchObject({ status: 'succeeded', imageIds: first.imageIds, message: 'cached — saved $0.0030', cacheSavedMicros: 3000, actual: null, ledgerRequestId: null });
    expect(server.counts.submit).toBe(1);
    expect(db.prepare('SELECT COUNT(*) FROM ledger').pluck().get()).toBe(1);
  });

  it('sends a random-seed request again unless the user allows caching it', async () => {
    const server = await fake(startOpenAIFake(KEY));
    const { service } = finals({ openai: { key: KEY, url: server.url } }, { limits: { openai: { rate: null } } });
    const request: FinalRequestInput = { provider: 'openai', model: 'gpt-image-1-mini', prompt: 'a paper crane', width: 1024, height: 1024, quality: 'low' };
    await service.wait(await service.submit(request));
    await service.wait(await service.submit(request));
    expect(server.counts.submit).toBe(2);
    await service.wait(await service.submit(request, { allowCachedRandomSeed: true }));
    const cached = service.get(await service.submit(request, { allowCachedRandomSeed: true }));
    expect(cached.message).toMatch(/^cached — saved \$/);
    expect(server.counts.submit).toBe(3);
  });
});

describe('failures', () => {
  it('waits out a 429 and succeeds, counting both sends', async () => {
    const server = await fake(startOpenAIFake(KEY));
    server.inject('submit', { kind: 'rate_limit', retryAfter: '0' });
    const { service, ledger } = finals({ openai: { key: KEY, url: server.url } });
    const job = await service.wait(await service.submit(happy[0]!.request));
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(server.counts.submit).toBe(2);
    expect(ledger.get(job.id)?.status).toBe('settled');
  });

  it('ends a moderation refusal as failed, releases the reservation, and does not retry', async () => {
    const server = await fake(startBflFake(KEY));
    server.inject('poll', { kind: 'moderation' });
    const { service, ledger } = finals({ bfl: { key: KEY, url: server.url } });
    const job = await service.wait(await service.submit(happy[3]!.request));
    expect(job).toMatchObject({ status: 'failed', error: { code: 'moderation' } });
    expect(job.error?.message).toMatch(/moderation blocked/);
    expect(ledger.get(job.id)).toMatchObject({ status: 'released', actualMicros: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.counts.submit).toBe(1);
  });

  it('releases the reservation when a synchronous provider refuses content', async () => {
    const server = await fake(startOpenAIFake(KEY));
    server.inject('submit', { kind: 'moderation' });
    const { service, ledger } = finals({ openai: { key: KEY, url: server.url } });
    const job = await service.wait(await service.submit(happy[0]!.request));
    expect(job).toMatchObject({ status: 'failed', error: { code: 'moderation' }, attempts: 1 });
    expect(ledger.get(job.id)?.status).toBe('released');
  });

  it('records a refusal the provider billed anyway as failed-billed, synchronous or polled', async () => {
    const stability = await fake(startStabilityFake(KEY));
    stability.state.contentFiltered = true;
    const falServer = await fake(startFalFake(KEY));
    falServer.inject('result', { kind: 'moderation' });
    const { service, ledger } = finals({ stability: { key: KEY, url: stability.url }, fal: { key: KEY, url: falServer.url } });
    const filtered = await service.wait(await service.submit(happy[1]!.request));
    const flagged = await service.wait(await service.submit(happy[4]!.request));
    expect(filtered).toMatchObject({ status: 'failed', error: { code: 'moderation' }, actual: { usd: 0.03 } });
    expect(ledger.get(filtered.id)).toMatchObject({ status: 'failed-billed', actualMicros: 30_000 });
    expect(flagged).toMatchObject({ status: 'failed', error: { code: 'moderation' }, actual: { usd: 0.003, source: 'provider-reported' } });
    expect(ledger.get(flagged.id)).toMatchObject({ status: 'failed-billed', actualMicros: 3_000 });
  });

  it('keeps polling through server errors on the status call and never submits again', async () => {
    const server = await fake(startReplicateFake(KEY));
    server.state.pollsBeforeDone = 2;
    // More 500s than one poll's own retries absorb: the job must outlast them, not fail or resend.
    server.inject('poll', { kind: 'server_error' }, 6);
    const { service } = finals({ replicate: { key: KEY, url: server.url } });
    const job = await service.wait(await service.submit(happy[2]!.request));
    expect(job.status).toBe('succeeded');
    expect(job.lastError).toMatchObject({ code: 'provider_error', retryable: true });
    expect(server.counts.submit).toBe(1);
    expect(server.counts.poll).toBeGreaterThan(6);
  });

  it('blocks at a hard budget before anything is sent, with the ledger’s own message', async () => {
    const server = await fake(startBflFake(KEY));
    const { service, ledger, db } = finals({ bfl: { key: KEY, url: server.url } });
    ledger.budgets.set({ scope: 'global', period: 'day', hardMicros: 20_000 });
    const error = await failure(service.submit(happy[3]!.request));
    expect(error.code).toBe('budget_exceeded');
    expect(error.message).toMatch(/\$0\.020/);
    expect(server.counts.submit).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM ledger').pluck().get()).toBe(0);
    expect(service.list()[0]).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded', message: error.message } });
  });

  it('needs an explicit confirmation, with a cap, for a model without a listed price', async () => {
    const server = await fake(startLeonardoFake(KEY));
    const { service, ledger } = finals({ leonardo: { key: KEY, url: server.url } });
    const request: FinalRequestInput = { provider: 'leonardo', model: '6b645e3a-d64f-4341-a6d8-7a3690fbf042', prompt: 'an art deco train station', width: 1024, height: 768, n: 1, seed: 9 };
    expect(service.estimate(request)).toMatchObject({ estimate: { kind: 'unknown' }, text: 'price unknown', needsConfirmation: true });
    const refused = await failure(service.submit(request));
    expect(refused).toMatchObject({ code: 'invalid_input' });
    expect(refused.message).toMatch(/price of leonardo .* is unknown/);
    expect(server.counts.submit).toBe(0);

    const job = await service.wait(await service.submit(request, { confirmUnknownPrice: { maxUsd: 0.5 } }));
    expect(job.status).toBe('succeeded');
    expect(ledger.get(job.id)).toMatchObject({ status: 'settled', reservedMicros: 500_000, actualMicros: 12_000, actualSource: 'provider-reported', estimate: { kind: 'unknown' } });
  });

  it('asks for a confirmation above the threshold, and one for a lower price does not carry over', async () => {
    const server = await fake(startReplicateFake(KEY));
    const { service } = finals({ replicate: { key: KEY, url: server.url } }, { confirmAboveUsd: () => 0.05 });
    const request: FinalRequestInput = { provider: 'replicate', model: 'black-forest-labs/flux-1.1-pro', prompt: 'a brass compass', aspectRatio: '1:1', seed: 3 };
    expect(service.estimate(request).needsConfirmation).toBe(false);
    const pricier: FinalRequestInput = { ...request, model: 'black-forest-labs/flux-dev', n: 4 };
    expect(service.estimate(pricier)).toMatchObject({ text: '$0.100', needsConfirmation: true });
    expect((await failure(service.submit(pricier))).message).toMatch(/may cost up to \$0\.100/);
    expect((await failure(service.submit(pricier, { confirmedAboveUsd: 0.04 }))).code).toBe('invalid_input');
    expect(server.counts.submit).toBe(0);
    expect((await service.wait(await service.submit(pricier, { confirmedAboveUsd: 0.1 }))).status).toBe('succeeded');
  });

  it('holds a dropped submission as unknown, never re-sends it, and lets the user release it', async () => {
    const server = await fake(startOpenAIFake(KEY));
    server.inject('submit', { kind: 'drop' });
    const { service, ledger } = finals({ openai: { key: KEY, url: server.url } });
    const job = await service.wait(await service.submit(happy[0]!.request));
    expect(job.status).toBe('unknown-submission');
    expect(job.message).toMatch(/not sent again/);
    expect(job.message).toMatch(/https:\/\/platform\.openai\.com/);
    expect(ledger.get(job.id)?.status).toBe('reserved');
    expect((await service.resume()).started).toEqual([]);
    expect(server.counts.submit).toBe(1);

    const released = service.releaseUnknown(job.id, { billedUsd: 0.009 });
    expect(released).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect(ledger.get(job.id)).toMatchObject({ status: 'failed-billed', actualMicros: 9_000 });
  });
});

describe('a provider that cannot be reached', () => {
  it('fails cleanly and releases the reservation when no connection could be made', async () => {
    const server = await fake(startBflFake(KEY));
    const closedUrl = server.url;
    await server.close();
    const { service, ledger } = finals({ bfl: { key: KEY, url: closedUrl } });
    const job = await service.wait(await service.submit(happy[3]!.request));
    expect(job).toMatchObject({ status: 'failed', error: { code: 'network' }, attempts: 1 });
    expect(ledger.get(job.id)?.status).toBe('released');
  });
});

describe('cancel', () => {
  it('cancels a queued job locally and an accepted one at the provider, releasing both reservations', async () => {
    const server = await fake(startReplicateFake(KEY));
    server.state.pollsBeforeDone = 1_000_000;
    const { service, ledger } = finals({ replicate: { key: KEY, url: server.url } }, { limits: { replicate: { concurrency: { limit: 1, unit: 'request' } } } });
    const base: FinalRequestInput = { provider: 'replicate', model: 'black-forest-labs/flux-schnell', prompt: 'running', aspectRatio: '1:1', seed: 1 };
    const running = await service.submit(base);
    const queued = await service.submit({ ...base, prompt: 'waiting' });
    await until(() => service.get(running).status === 'accepted', 'the first job to be accepted');
    expect(service.get(queued).status).toBe('queued');

    expect(await service.cancel(queued)).toMatchObject({ status: 'cancelled' });
    expect(ledger.get(queued)?.status).toBe('released');

    await service.cancel(running);
    const ended = await service.wait(running);
    expect(ended.status).toBe('cancelled');
    expect(ledger.get(running)?.status).toBe('released');
    expect(server.requests.some((r) => r.method === 'POST' && r.url.pathname.endsWith('/cancel'))).toBe(true);
    expect(server.counts.submit).toBe(1);
  });

  it('says so when the provider has no cancel for an accepted job', async () => {
    const server = await fake(startBflFake(KEY));
    server.state.pollsBeforeReady = 1_000_000;
    const { service } = finals({ bfl: { key: KEY, url: server.url } });
    const id = await service.submit(happy[3]!.request);
    await until(() => service.get(id).status === 'accepted', 'the job to be accepted');
    const error = await failure(service.cancel(id));
    expect(error.message).toMatch(/no way to cancel/);
    expect(service.get(id).status).toBe('accepted');
  });
});

describe('limits', () => {
  it('waits for the provider’s rate limit before sending, and says so', async () => {
    const server = await fake(startOpenAIFake(KEY));
    let now = 1_000_000;
    const { service, events } = finals(
      { openai: { key: KEY, url: server.url } },
      { now: () => now, sleep: async (ms) => void (now += ms), limits: { openai: { rate: { limit: 3, windowMs: 60_000, burst: 2, unit: 'image' } } } },
    );
    const sentAt: number[] = [];
    for (const prompt of ['one', 'two', 'three']) {
      await service.wait(await service.submit({ ...happy[0]!.request, prompt }));
      sentAt.push(now);
    }
    expect(sentAt.map((t) => t - 1_000_000)).toEqual([0, 0, 60_000]);
    expect(events.map((e) => e.job.message)).toContain("Waiting 60 s for OpenAI's rate limit (3 images per 1 min); nothing has been sent yet.");
    expect(server.counts.submit).toBe(3);
  });

  it('refuses a key or other credential in provider options before anything is written', async () => {
    const server = await fake(startReplicateFake(KEY));
    const { service } = finals({ replicate: { key: KEY, url: server.url } });
    const error = await failure(service.submit({ ...happy[2]!.request, providerOptions: { extra: { api_key: KEY } } }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(/must not carry a key/);
    expect(service.list()).toEqual([]);
  });
});

describe('keys', () => {
  it('never writes a key to any file under the data directory, the ledger, a job or an event', async () => {
    const openai = await fake(startOpenAIFake(KEY));
    const stability = await fake(startStabilityFake(KEY));
    const bfl = await fake(startBflFake(KEY));
    bfl.inject('poll', { kind: 'moderation' });
    const env = finals({ openai: { key: KEY, url: openai.url }, bfl: { key: KEY, url: bfl.url }, stability: { key: WRONG_KEY, url: stability.url } }, { limits: { openai: { rate: null } } });
    const { service } = env;
    const ok = await service.wait(await service.submit(happy[0]!.request));
    openai.inject('submit', { kind: 'drop' });
    const unknown = await service.wait(await service.submit({ ...happy[0]!.request, prompt: 'second' }));
    const moderated = await service.wait(await service.submit(happy[3]!.request));
    const rejected = await service.wait(await service.submit(happy[1]!.request));
    expect([ok.status, unknown.status, moderated.status, rejected.status]).toEqual(['succeeded', 'unknown-submission', 'failed', 'failed']);
    expect(rejected.error?.code).toBe('key_rejected');

    const seen = JSON.stringify({ jobs: service.list(), events: env.events, ledger: env.db.prepare('SELECT * FROM ledger').all() });
    expect(seen).not.toContain(KEY);
    expect(seen).not.toContain(WRONG_KEY);
    await env.close();
    expect(filesContaining(env.dataDir, KEY)).toEqual([]);
    expect(filesContaining(env.dataDir, WRONG_KEY)).toEqual([]);
    expect(filesContaining(env.dataDir, 'FINALS')).toEqual([]);
  });
});
