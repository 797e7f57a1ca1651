/**
 * `npm run bench` — local previews (issue 4). Every ratio is measured side by side in one run:
 * - pipeline overhead: end-to-end preview time ÷ the sum of the same `session.run` calls replayed
 *   bare on the same sessions (tiny sd-turbo; medium UNet);
 * - worker: round trip of a message, and per request, against a step of the medium model;
 * - latent preview cost per step;
 * - tokenizer throughput;
 * - RSS growth from loading the medium model against its size on disk;
 * - live mode: 40 keystrokes 50 ms apart (when the caller passes the core's controller).
 * Not a timed test: it prints what this machine does. Run with --expose-gc for cleaner RSS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createOrtBackend } from '../backend/ort.js';
import type { GenerateRequest } from '../engine.js';
import { runDiffusion } from '../pipelines/diffusion-pipeline.js';
import { ModelSessions } from '../pipelines/model-sessions.js';
import { PipelineEngine } from '../pipelines/pipeline-engine.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { WorkerEngine } from '../worker/worker-engine.js';
import { generateBenchModels, onnxBytes } from './bench-models.js';
import { measureLiveMode, type LiveControllerFactory } from './live-mode-bench.js';
import { recordingBackend, replay } from './recording-backend.js';

export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
}

export interface LocalPreviewBenchOptions {
  /** Where native-models/tools lives; default: the current directory (npm runs scripts at the root). */
  readonly repoRoot?: string;
  /** The core's live-mode controller; the live rows are skipped without it. */
  readonly liveController?: LiveControllerFactory;
  readonly log?: (line: string) => void;
}

const MB = 1024 * 1024;
const MEDIUM_SIZE = 256; // a medium UNet step at 256² takes tens of ms on 2 CPU cores
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const round = (value: number, digits = 3) => Number(value.toPrecision(digits));
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

export async function run(options: LocalPreviewBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? (() => undefined);
  log('generating the tiny and medium model folders');
  const models = generateBenchModels(options.repoRoot ?? process.cwd());
  const rows: BenchRow[] = [];
  try {
    rows.push(...(await memory(models.tiny, models.medium)));
    log('pipeline overhead');
    rows.push(...(await overhead('tiny sd-turbo 64², 4 steps', { modelDir: models.tiny, width: 64, height: 64, steps: 4 }, 21)));
    rows.push(...(await overhead('tiny sd-turbo 512², 1 step', { modelDir: models.tiny, width: 512, height: 512, steps: 1 }, 15)));
    rows.push(...(await overhead('tiny sd-turbo 512², 4 steps', { modelDir: models.tiny, width: 512, height: 512, steps: 4 }, 15)));
    rows.push(...(await overhead(`medium UNet ${MEDIUM_SIZE}², 4 steps`, { modelDir: models.medium, width: MEDIUM_SIZE, height: MEDIUM_SIZE, steps: 4 }, 9)));
    log('latent preview and worker');
    const stepMs = await previewCost(models.medium, rows);
    const worker = new WorkerEngine();
    try {
      rows.push(...(await workerCost(worker, models.medium, stepMs)));
      if (options.liveController !== undefined) {
        log('live mode');
        const base = mediumRequest(models.medium, { previewEvery: 1 });
        rows.push(...(await measureLiveMode(worker, options.liveController, base, 250, 'debounce 250 ms')));
        rows.push(...(await measureLiveMode(worker, options.liveController, base, 20, 'debounce 20 ms')));
      }
      const usage = worker.usage();
      rows.push({ name: 'worker busy share over this bench section (local GPU utilisation KPI)', value: round(usage.busyShare * 100), unit: '%' });
    } finally {
      await worker.dispose();
    }
    log('tokenizer');
    rows.push(...tokenizer(join(models.medium, 'tokenizer')));
  } finally {
    models.cleanup();
  }
  return rows;
}

function mediumRequest(modelDir: string, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { modelDir, prompt: 'a red fox in the snow', seed: 1, width: MEDIUM_SIZE, height: MEDIUM_SIZE, steps: 4, executionProvider: 'cpu', ...extra };
}

/** RSS growth from loading the medium model (ORT itself already loaded), against its ONNX bytes. */
async function memory(tinyDir: string, mediumDir: string): Promise<BenchRow[]> {
  const sessions = new ModelSessions(createOrtBackend());
  await (await sessions.open(tinyDir, { executionProvider: 'cpu' })).session('vae_decoder'); // loads the runtime
  await sessions.release();
  gc();
  const before = process.memoryUsage().rss;
  const model = await sessions.open(mediumDir, { executionProvider: 'cpu' });
  await model.tokenizers();
  for (const component of ['text_encoder', 'unet', 'vae_decoder'] as const) await model.session(component);
  gc();
  const loaded = process.memoryUsage().rss - before;
  await runDiffusion(model, mediumRequest(mediumDir));
  const peak = process.resourceUsage().maxRSS * 1024;
  await sessions.release();
  const disk = onnxBytes(mediumDir);
  return [
    { name: 'medium model: ONNX files on disk', value: round(disk / MB), unit: 'MB' },
    { name: 'medium model: RSS growth after loading its sessions + tokenizer', value: round(loaded / MB), unit: 'MB' },
    { name: 'medium model: RSS growth ÷ size on disk', value: round(loaded / disk), unit: '×' },
    { name: 'peak RSS of the bench process after one medium preview', value: round(peak / MB), unit: 'MB' },
  ];
}

/** End-to-end preview time ÷ the sum of the same session.run calls replayed bare. */
async function overhead(label: string, shape: Pick<GenerateRequest, 'modelDir' | 'width' | 'height' | 'steps'>, iterations: number): Promise<BenchRow[]> {
  const recorder = recordingBackend(createOrtBackend());
  const sessions = new ModelSessions(recorder.backend);
  const model = await sessions.open(shape.modelDir, { executionProvider: 'cpu' });
  const request = (i: number): GenerateRequest => ({ ...shape, prompt: `a red fox in the snow, take ${i}`, seed: i, executionProvider: 'cpu' });
  await runDiffusion(model, request(0)); // loads sessions and tokenizer
  const endToEnd: number[] = [];
  const raw: number[] = [];
  const ratios: number[] = [];
  const extra: number[] = [];
  for (let i = 1; i <= iterations; i++) {
    recorder.calls.length = 0;
    let bare = 0;
    // Alternate which goes first, so warm caches and CPU frequency favour neither side.
    if (i % 2 === 0) bare = await replayOf(recorder, model, request(i));
    const started = performance.now();
    await runDiffusion(model, request(i));
    const total = performance.now() - started;
    if (i % 2 === 1) bare = await replay(recorder.calls);
    endToEnd.push(total);
    raw.push(bare);
    ratios.push(total / bare);
    extra.push(total - bare);
  }
  await sessions.release();
  return [
    { name: `${label}: end-to-end preview`, value: round(median(endToEnd)), unit: 'ms' },
    { name: `${label}: sum of raw session.run`, value: round(median(raw)), unit: 'ms' },
    { name: `${label}: pipeline's own time`, value: round(median(extra)), unit: 'ms' },
    { name: `${label}: pipeline overhead`, value: round(median(ratios), 4), unit: '×', target: '≤ 1.05' },
  ];
}

/** The run calls of `request`, recorded by a throwaway run, replayed: the raw time before the timed run. */
async function replayOf(recorder: ReturnType<typeof recordingBackend>, model: Awaited<ReturnType<ModelSessions['open']>>, request: GenerateRequest): Promise<number> {
  await runDiffusion(model, request);
  const bare = await replay(recorder.calls);
  recorder.calls.length = 0;
  return bare;
}

/** Latent preview (latent → RGB on the x₀ estimate) per step against the step itself; returns the step time. */
async function previewCost(mediumDir: string, rows: BenchRow[]): Promise<number> {
  const engine = new PipelineEngine();
  await engine.generate(mediumRequest(mediumDir));
  const perStep: number[] = [];
  const stepMs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const result = await engine.generate(mediumRequest(mediumDir, { seed: i, previewEvery: 1 }), { onProgress: () => undefined });
    perStep.push(result.timings.previewMs / result.timings.unetStepMs.length);
    stepMs.push(...result.timings.unetStepMs);
  }
  await engine.dispose();
  const step = median(stepMs);
  rows.push(
    { name: `medium UNet ${MEDIUM_SIZE}²: one step`, value: round(step), unit: 'ms' },
    { name: `latent preview (${MEDIUM_SIZE / 8}×${MEDIUM_SIZE / 8} RGBA) per step`, value: round(median(perStep)), unit: 'ms' },
    { name: 'latent preview cost per step, % of a medium step', value: round((median(perStep) / step) * 100), unit: '%', target: '≤ 2%' },
  );
  return step;
}

/** Message round trip host → worker → host, and the whole-request cost of going through the worker. */
async function workerCost(worker: WorkerEngine, mediumDir: string, stepMs: number): Promise<BenchRow[]> {
  await worker.generate(mediumRequest(mediumDir)); // starts the worker, loads the model
  const pings: number[] = [];
  for (let i = 0; i < 200; i++) pings.push(await worker.ping());
  const perRequest: number[] = [];
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    const result = await worker.generate(mediumRequest(mediumDir, { seed: i, previewEvery: 1 }), { onProgress: () => undefined });
    perRequest.push(performance.now() - started - result.timings.totalMs);
  }
  const rtt = median(pings);
  return [
    { name: 'worker round trip (child process, IPC), median', value: round(rtt), unit: 'ms' },
    { name: 'worker round trip per step, % of a medium step', value: round((rtt / stepMs) * 100), unit: '%', target: '≤ 2%' },
    { name: 'worker transport per request (request in, 4 progress+previews, image out)', value: round(median(perRequest)), unit: 'ms' },
    { name: 'worker transport per request ÷ 4 steps, % of a medium step', value: round((median(perRequest) / 4 / stepMs) * 100), unit: '%', target: '≤ 2%' },
  ];
}

/** Prompts per second: distinct prompts on a fresh tokenizer, and live typing (every prefix). */
function tokenizer(dir: string): BenchRow[] {
  const vocab = readFileSync(join(dir, 'vocab.json'), 'utf8');
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8');
  const words = 'portrait landscape golden hour cinematic lighting misty forest ancient castle neon city rain reflections watercolour oil painting highly detailed octane render bokeh macro photograph of a hummingbird'.split(' ');
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % words.length;
  const distinct = Array.from({ length: 3000 }, (_, i) => `${Array.from({ length: 12 }, () => words[next()]).join(' ')} v${i}`);
  const sentence = 'a lighthouse on a cliff at dusk, oil painting, dramatic sky, seagulls, crashing waves, highly detailed';
  const typing = Array.from({ length: sentence.length }, (_, i) => sentence.slice(0, i + 1));

  const fresh = ClipTokenizer.fromFileContents(vocab, merges);
  let started = performance.now();
  for (const prompt of distinct) fresh.encode(prompt, { padTo: 77, padId: 0 });
  const distinctRate = distinct.length / ((performance.now() - started) / 1000);
  const live = ClipTokenizer.fromFileContents(vocab, merges);
  started = performance.now();
  for (let round = 0; round < 20; round++) for (const prompt of typing) live.encode(prompt, { padTo: 77, padId: 0 });
  const typingRate = (20 * typing.length) / ((performance.now() - started) / 1000);
  return [
    { name: 'tokenizer: distinct 12-word prompts (fresh tokenizer)', value: round(distinctRate), unit: 'prompts/s' },
    { name: 'tokenizer: live typing (every prefix of a prompt)', value: round(typingRate), unit: 'prompts/s' },
  ];
}
