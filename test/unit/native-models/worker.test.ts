/**
 * The pipeline out of process: `WorkerEngine` driving a real worker (a child process, the default,
 * or a worker thread) that runs the real pipeline on the tiny models. The worker script must be JavaScript, so the sources are first
 * transpiled (TypeScript's own transpiler, nothing else) into a scratch folder inside the repo,
 * where node_modules resolves as it does for dist/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { GenerationCancelledError, type GenerateRequest, type StepProgress } from '../../../native-models/src/engine.js';
import { PipelineEngine } from '../../../native-models/src/pipelines/pipeline-engine.js';
import { childProcessChannel, workerThreadChannel, type WorkerChannel } from '../../../native-models/src/worker/worker-channel.js';
import { WorkerEngine } from '../../../native-models/src/worker/worker-engine.js';
import { repoRoot } from '../../helpers/tmp.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';

let models = '';
let entry: URL;
let buildDir = '';
const engines: WorkerEngine[] = [];

/** Transpiles native-models/src and src/contract, file by file, keeping the layout and imports. */
function buildWorker(): URL {
  fs.mkdirSync(path.join(repoRoot, '.cache'), { recursive: true });
  buildDir = fs.mkdtempSync(path.join(repoRoot, '.cache', 'worker-test-'));
  for (const root of ['native-models/src', 'src/contract']) {
    for (const file of fs.readdirSync(path.join(repoRoot, root), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const source = fs.readFileSync(path.join(repoRoot, root, file), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, isolatedModules: true },
      });
      const target = path.join(buildDir, root, file.replace(/\.ts$/, '.js'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, outputText);
    }
  }
  return pathToFileURL(path.join(buildDir, 'native-models/src/worker/worker-entry.js'));
}

beforeAll(() => {
  models = tinyModelsDir();
  entry = buildWorker();
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.dispose()));
  fs.rmSync(buildDir, { recursive: true, force: true });
});

type ChildChannel = ReturnType<typeof childProcessChannel>;

/** An engine on child processes (the default transport) whose workers the test can reach, to kill them. */
function engine(): { engine: WorkerEngine; children: ChildChannel[] } {
  const children: ChildChannel[] = [];
  const created = new WorkerEngine({
    spawn: () => {
      const channel = childProcessChannel(entry);
      children.push(channel);
      return channel;
    },
  });
  engines.push(created);
  return { engine: created, children };
}

/** The same on worker threads. */
function threadEngine(): { engine: WorkerEngine; workers: Worker[] } {
  const workers: Worker[] = [];
  const created = new WorkerEngine({
    spawn: () => {
      const channel = workerThreadChannel(entry);
      workers.push(channel.worker);
      return channel;
    },
  });
  engines.push(created);
  return { engine: created, workers };
}

const request = (overrides: Partial<GenerateRequest> = {}): GenerateRequest => ({
  modelDir: path.join(models, 'sd-turbo'),
  prompt: 'a red fox in the snow, watercolour',
  seed: 11,
  width: 64,
  height: 64,
  steps: 4,
  executionProvider: 'cpu',
  threads: 1,
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('WorkerEngine', () => {
  it.each(['child process', 'worker thread'])('%s: the same bytes as the in-process pipeline, with per-step progress and latent previews', async (transport) => {
    const { engine: worker } = transport === 'child process' ? engine() : threadEngine();
    const progress: StepProgress[] = [];
    const result = await worker.generate(request({ previewEvery: 1 }), { onProgress: (p) => progress.push(p) });
    const local = new PipelineEngine();
    const expected = await local.generate(request());
    await local.dispose();

    expect(Buffer.from(result.images[0]!.data).equals(Buffer.from(expected.images[0]!.data))).toBe(true);
    expect(result.timesteps).toEqual([999, 749, 499, 249]);
    expect(progress.map((p) => p.step)).toEqual([0, 1, 2, 3]);
    expect(progress.every((p) => p.preview instanceof Object && p.preview.data instanceof Uint8ClampedArray && p.preview.data.length === 8 * 8 * 4)).toBe(true);
    expect(result.timings.unetStepMs).toHaveLength(4);
  });

  it('tokenize, inspect and embedText cross the border parsed', async () => {
    const { engine: worker } = engine();
    const dir = path.join(models, 'sdxl-turbo');
    const tokens = await worker.tokenize(dir, 'a red fox');
    expect(tokens.encoders.map((e) => e.padId)).toEqual([49407, 0]);
    expect((await worker.inspect(dir)).family).toBe('sdxl-turbo');
    const embedding = await worker.embedText(dir, 'a red fox');
    expect(embedding).toBeInstanceOf(Float32Array);
    expect(embedding).toHaveLength(1280);
    expect(await worker.ping()).toBeLessThan(1000);
  });

  it('errors keep their code and hint across the border', async () => {
    const { engine: worker } = engine();
    const error = await rejection(worker.generate(request({ height: 60 })));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toBe('Height 60 is not a multiple of 8');
    expect(error.hint).toMatch(/use 56 or 64/);
    const corrupt = await rejection(worker.generate(request({ modelDir: path.join(models, 'corrupt') })));
    expect(corrupt.code).toBe('model_invalid');
    expect(corrupt.message).toMatch(/unet\/model\.onnx/);
  });

  it('cancel: the worker stops within one step and reports cancelled', async () => {
    const { engine: worker } = engine();
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await rejection(
      worker.generate(request({ steps: 40, width: 256, height: 256 }), {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 2) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('cancelled');
    expect(error).toBeInstanceOf(GenerationCancelledError);
    // The step running when the cancel arrived may finish; none starts after it.
    expect((error as GenerationCancelledError).stepsAfterCancel).toBeLessThanOrEqual(1);
    const done = Number(/^Generation cancelled after (\d+) of 40 steps$/.exec(error.message)?.[1]);
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(40);
    expect(seen).toEqual(Array.from({ length: done }, (_, i) => i));
    // The worker is free again at once.
    expect((await worker.generate(request())).images).toHaveLength(1);
  });

  it('a worker killed mid-run: the request fails with a clear error, the next one gets a fresh worker', async () => {
    const { engine: worker, children } = engine();
    let killed = false;
    const error = await rejection(
      worker.generate(request({ steps: 30, width: 256, height: 256 }), {
        onProgress: () => {
          if (!killed) children[0]!.kill('SIGKILL');
          killed = true;
        },
      }),
    );
    expect(error.code).toBe('internal');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^The local inference worker stopped unexpectedly \(killed by SIGKILL\)/);
    expect(error.hint).toMatch(/fresh worker starts automatically/);

    const next = await worker.generate(request());
    expect(next.images).toHaveLength(1);
    expect(children).toHaveLength(2);
    expect(worker.usage()).toMatchObject({ workerStarts: 2, workerCrashes: 1 });
  });

  it('a worker thread that ends between requests is replaced transparently', async () => {
    // Only between runs: terminating a thread inside session.run can abort the whole process (see worker-channel.ts).
    const { engine: worker, workers } = threadEngine();
    await worker.generate(request());
    await workers[0]!.terminate();
    const next = await worker.generate(request());
    expect(next.images).toHaveLength(1);
    expect(worker.usage()).toMatchObject({ workerStarts: 2, workerCrashes: 1 });
  });

  it('accounts busy time as a share of wall time', async () => {
    const { engine: worker } = engine();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await worker.generate(request());
    const usage = worker.usage();
    expect(usage.busyMs).toBeGreaterThan(0);
    expect(usage.busyMs).toBeLessThan(usage.wallMs);
    expect(usage.busyShare).toBeCloseTo(usage.busyMs / usage.wallMs, 2);
    expect(usage.busyShare).toBeLessThan(1);
  });

  it('the worker parses what it receives: a malformed request is answered with an error, not a crash', async () => {
    const channel: WorkerChannel = workerThreadChannel(entry);
    const replies: unknown[] = [];
    channel.onMessage((m) => replies.push(m));
    // Written as the host never would: bypasses the typed post() on purpose.
    (channel as { post(message: unknown): void }).post({ type: 'generate', id: 7, request: { modelDir: '', prompt: 3, seed: -1 } });
    channel.post({ type: 'ping', id: 8 });
    await expect.poll(() => replies.length).toBeGreaterThanOrEqual(3);
    expect(replies[1]).toMatchObject({ type: 'failed', id: 7, error: { code: 'internal' } });
    expect(replies[2]).toEqual({ type: 'pong', id: 8 });
    await channel.terminate();
  });

  it('dispose ends the worker cleanly; later calls are refused', async () => {
    const { engine: worker, children } = engine();
    await worker.tokenize(path.join(models, 'sd-turbo'), 'x');
    const exited = new Promise<string>((resolve) => children[0]!.onExit(resolve));
    await worker.dispose();
    expect(await exited).toBe('exit code 0');
    await expect(worker.tokenize(path.join(models, 'sd-turbo'), 'x')).rejects.toThrow(/already shut down/);
  });
});
