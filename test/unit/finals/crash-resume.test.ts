import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFinalRequest, toCacheable, type FinalRequestInput } from '../../../src/core/finals/final-request.js';
import { JobStore } from '../../../src/core/finals/job-store.js';
import { png } from '../../fakes/harness.js';
import { startReplicateFake, type ReplicateFake } from '../../fakes/replicate.js';
import { makeTempDir, repoRoot } from '../../helpers/tmp.js';
import { finalsEnvVars, openFinals, until, type FinalsEnv } from './finals-env.js';

const KEY = 'r8_test-CRASH-0123456789abcdef';
const registerTs = path.join(repoRoot, 'test', 'unit', 'spend', 'fixtures', 'register-ts.mjs');
const child = path.join(repoRoot, 'test', 'unit', 'finals', 'fixtures', 'finals-child.ts');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface App {
  process: ChildProcessWithoutNullStreams;
  /** "<event kind> <status> <job id>" lines, as the child printed them. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** The app as a real second process (our TypeScript through the spend tests' loader), submitting `requests`. */
function startApp(dataDir: string, fake: ReplicateFake, requests: FinalRequestInput[]): App {
  const proc = spawn(process.execPath, ['--import', registerTs, child, 'submit', dataDir, ...requests.map((r) => JSON.stringify(r))], {
    cwd: repoRoot,
    env: { ...process.env, ...finalsEnvVars({ replicate: { key: KEY, url: fake.url } }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  cleanups.push(() => proc.kill('SIGKILL'));
  return { process: proc, lines, exited };
}

function jobIdWhen(app: App, kind: string, status: string): string | undefined {
  return app.lines.map((l) => l.split(' ')).find(([k, s]) => k === kind && s === status)?.[2];
}

async function kill(app: App): Promise<void> {
  app.process.kill('SIGKILL');
  const result = await app.exited;
  expect(result.signal, result.stderr).toBe('SIGKILL');
}

async function setup(): Promise<{ dataDir: string; fake: ReplicateFake; open: () => FinalsEnv }> {
  const { dir, cleanup } = makeTempDir('imagebench-finals-crash-');
  cleanups.push(cleanup);
  const fake = await startReplicateFake(KEY);
  cleanups.push(() => fake.close());
  const open = (): FinalsEnv => {
    const env = openFinals({ dataDir: dir, providers: { replicate: { key: KEY, url: fake.url } } });
    cleanups.push(env.close);
    return env;
  };
  return { dataDir: dir, fake, open };
}

const request = (prompt: string, seed: number): FinalRequestInput => ({ provider: 'replicate', model: 'black-forest-labs/flux-schnell', prompt, aspectRatio: '1:1', n: 1, seed });

/** What the fake received as new predictions, by prompt: one entry per submission. */
function submittedPrompts(fake: ReplicateFake): unknown[] {
  return fake.requests
    .filter((r) => r.method === 'POST' && r.url.pathname.endsWith('/predictions'))
    .map((r) => {
      const body = r.json();
      return typeof body === 'object' && body !== null && 'input' in body && typeof body.input === 'object' && body.input !== null && 'prompt' in body.input ? body.input.prompt : null;
    });
}

describe('a final across a crash', () => {
  it('resumes polling an accepted job after SIGKILL: one submission, one settled ledger row; a queued job runs once', async () => {
    const { dataDir, fake, open } = await setup();
    fake.state.pollsBeforeDone = 1_000_000_000;
    const app = startApp(dataDir, fake, [request('accepted when killed', 1), request('queued when killed', 2)]);
    await until(() => jobIdWhen(app, 'progress', 'accepted') !== undefined && jobIdWhen(app, 'queued', 'queued') !== undefined && fake.counts.poll > 0, 'the first job to be accepted and polled');
    const acceptedId = jobIdWhen(app, 'progress', 'accepted') ?? '';
    const queuedId = app.lines.map((l) => l.split(' ')).find(([k, , id]) => k === 'queued' && id !== acceptedId)?.[2] ?? '';

    // While the app is alive, a second process (the CLI starting up) leaves its jobs alone.
    const restarted = open();
    expect(await restarted.service.resume()).toEqual({ polling: [], started: [], unknown: [], finished: [] });

    await kill(app);
    const before = restarted.service.get(acceptedId);
    expect(before).toMatchObject({ status: 'accepted', pendingJob: { kind: 'pending' } });
    expect(restarted.service.get(queuedId).status).toBe('queued');
    expect(restarted.ledger.get(acceptedId)?.status).toBe('reserved');

    fake.state.pollsBeforeDone = 0;
    const report = await restarted.service.resume();
    expect(report).toEqual({ polling: [acceptedId], started: [queuedId], unknown: [], finished: [] });
    const [resumed, queued] = await Promise.all([restarted.service.wait(acceptedId), restarted.service.wait(queuedId)]);

    expect(resumed).toMatchObject({ status: 'succeeded', providerJobId: before.providerJobId, attempts: 1 });
    expect(queued.status).toBe('succeeded');
    expect(submittedPrompts(fake)).toEqual(['accepted when killed', 'queued when killed']);
    expect(fake.counts.submit).toBe(2);
    const rows = restarted.db.prepare('SELECT request_id, status FROM ledger ORDER BY id').all();
    expect(rows).toEqual([
      { request_id: acceptedId, status: 'settled' },
      { request_id: queuedId, status: 'settled' },
    ]);
    expect(restarted.ledger.get(acceptedId)).toMatchObject({ actualMicros: 3_000, imageIds: resumed.imageIds });
  }, 60_000);

  it('holds a job killed while its request was in flight as an unknown submission, and never re-sends it', async () => {
    const { dataDir, fake, open } = await setup();
    // The fake holds the POST open, so the kill lands after it was sent and before any answer.
    fake.inject('submit', { kind: 'slow', ms: 2_000 });
    const app = startApp(dataDir, fake, [request('in flight when killed', 3)]);
    await until(() => jobIdWhen(app, 'progress', 'submitting') !== undefined && fake.counts.submit === 1, 'the submission to reach the fake');
    const id = jobIdWhen(app, 'progress', 'submitting') ?? '';
    await kill(app);

    const restarted = open();
    expect(await restarted.service.resume()).toEqual({ polling: [], started: [], unknown: [id], finished: [] });
    const job = restarted.service.get(id);
    expect(job.status).toBe('unknown-submission');
    expect(job.message).toMatch(/ImageBench stopped while it was sending this job to Replicate/);
    expect(job.message).toMatch(/It was not sent again/);
    expect(job.message).toMatch(/\$0\.0030 reserved for it stays held/);
    expect(job.message).toMatch(/https:\/\/replicate\.com/);
    expect(restarted.ledger.get(id)?.status).toBe('reserved');
    // A reconciliation of stale reservations is told to leave this one to the user.
    expect(restarted.service.heldReservations()).toEqual([id]);
    expect(restarted.events.map((e) => e.kind)).toEqual(['unknown-submission']);

    // The next start leaves it alone too; only the user ends it.
    expect(await restarted.service.resume()).toEqual({ polling: [], started: [], unknown: [], finished: [] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.counts.submit).toBe(1);
    expect(restarted.service.releaseUnknown(id)).toMatchObject({ status: 'failed' });
    expect(restarted.ledger.get(id)?.status).toBe('released');
    expect(restarted.service.heldReservations()).toEqual([]);
  }, 60_000);

  it('finishes from disk a job whose images were stored when the app stopped, without asking the provider again', async () => {
    const { fake, open } = await setup();
    const env = open();
    // The state a crash between storing the images and settling leaves behind, written with the
    // job store itself, by a runner whose process is gone.
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => dead.on('exit', () => resolve(dead.pid ?? 0)));
    const store = new JobStore(env.db);
    const req = parseFinalRequest(request('stored, then killed', 4));
    const job = store.insert({ id: randomUUID(), request: req, estimate: { kind: 'exact', usd: 0.003, basis: 'table' }, unknownPriceCapMicros: null, cacheRandomSeed: false, status: 'queued', runner: 'crashed', runnerPid: deadPid });
    env.ledger.reserve({ requestId: job.id, provider: 'replicate', model: req.model, estimate: job.estimate });
    const image = await env.images.put(await png(16, 16), { source: 'cloud-final', parameters: { prompt: req.prompt } });
    const actual = { usd: 0.003, source: 'price-table', basis: '1 × $0.003 per image' } as const;
    store.transition(job.id, ['queued'], 'crashed', { status: 'reserving', ledgerRequestId: job.id });
    store.transition(job.id, ['reserving'], 'crashed', { status: 'submitting' });
    store.transition(job.id, ['submitting'], 'crashed', { imageIds: [image.image.id], actual });

    expect(await env.service.resume()).toEqual({ polling: [], started: [], unknown: [], finished: [job.id] });
    expect(env.service.get(job.id)).toMatchObject({ status: 'succeeded', imageIds: [image.image.id] });
    expect(env.ledger.get(job.id)).toMatchObject({ status: 'settled', actualMicros: 3_000, imageIds: [image.image.id] });
    expect(env.cache.lookup(toCacheable(req)).hit).toBe(true);
    expect(fake.requests).toEqual([]);
  });

  it('refuses, in the table itself, to send a job a second time', async () => {
    const { open } = await setup();
    const env = open();
    const store = new JobStore(env.db);
    const job = store.insert({ id: randomUUID(), request: parseFinalRequest(request('once', 5)), estimate: { kind: 'exact', usd: 0.003, basis: 'table' }, unknownPriceCapMicros: null, cacheRandomSeed: false, status: 'queued', runner: 'r', runnerPid: process.pid });
    store.transition(job.id, ['queued'], 'r', { status: 'reserving' });
    store.transition(job.id, ['reserving'], 'r', { status: 'submitting' });
    store.transition(job.id, ['submitting'], 'r', { status: 'unknown-submission' });
    // Whatever a buggy caller asks for, 'submitting' is reachable only once, from 'reserving'.
    for (const back of ['queued', 'reserving', 'submitting'] as const) {
      expect(() => store.transition(job.id, ['unknown-submission'], 'r', { status: back })).toThrow(/never submitted twice/);
    }
  });
});
