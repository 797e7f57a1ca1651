/**
 * Live mode against the real pipeline (in-process engine, tiny sd-turbo, real ONNX Runtime): bursts
 * of prompt changes end in exactly one full render of the final prompt; runs made stale by a
 * change are aborted within a step, never queued.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateOptions, GenerateRequest, GenerateResult } from '../../../native-models/src/engine.js';
import { PipelineEngine } from '../../../native-models/src/pipelines/pipeline-engine.js';
import { DEFAULT_LIVE_DEBOUNCE_MS, LivePreview } from '../../../src/core/local/live-preview.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';

const engine = new PipelineEngine();
let modelDir = '';

/** The real engine, with a count of how many generations overlap (live mode must never overlap them). */
const watched = {
  inFlight: 0,
  maxInFlight: 0,
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult> {
    watched.maxInFlight = Math.max(watched.maxInFlight, ++watched.inFlight);
    return engine.generate(request, options).finally(() => watched.inFlight--);
  },
};

beforeAll(async () => {
  modelDir = path.join(tinyModelsDir(), 'sd-turbo');
  // Load sessions and tokenizer up front, so the timings below are those of rendering.
  await engine.generate(request('warm-up', 1));
});
afterAll(() => engine.dispose());

/** A render of a few hundred ms, in steps of a few ms (so a change lands mid-run). */
function request(prompt: string, steps = 400): GenerateRequest {
  return { modelDir, prompt, seed: 5, width: 256, height: 256, steps, executionProvider: 'cpu', threads: 1 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const prompts = Array.from({ length: 40 }, (_, i) => 'a lighthouse at dusk, oil painting'.slice(0, 1 + ((i * 34) / 39) | 0) + ` ${i}`);

async function typeBurst(live: LivePreview): Promise<void> {
  for (const prompt of prompts) {
    live.update(request(prompt));
    await sleep(50);
  }
}

describe('live preview', () => {
  it(`40 changes 50 ms apart (debounce ${DEFAULT_LIVE_DEBOUNCE_MS} ms) → one render, of the last prompt; the run in flight is aborted`, async () => {
    watched.maxInFlight = 0;
    const rendered: string[] = [];
    const live = new LivePreview({ engine: watched, onRender: (_r, req) => rendered.push(req.prompt) });
    // A render of an earlier prompt is running when the burst starts.
    live.update(request('a harbour at dawn'));
    await sleep(DEFAULT_LIVE_DEBOUNCE_MS + 60);
    const inFlightWhenTypingStarts = watched.inFlight;
    await typeBurst(live);
    await live.idle();

    expect(inFlightWhenTypingStarts).toBe(1);
    expect(rendered).toEqual([prompts[39]]);
    const stats = live.stats();
    expect(stats).toMatchObject({ changes: 41, started: 2, completed: 1, aborted: 1, discarded: 0, failed: 0 });
    expect(stats.abortLatencySteps.every((steps) => steps <= 1)).toBe(true);
    expect(watched.maxInFlight).toBe(1);
    await live.dispose();
  });

  it('with a short debounce every stale run is aborted within a step, none overlap, and only the last prompt renders', async () => {
    watched.maxInFlight = 0;
    const rendered: string[] = [];
    const previewed = new Set<string>();
    const live = new LivePreview({
      engine: watched,
      debounceMs: 10,
      onRender: (_r, req) => rendered.push(req.prompt),
      onProgress: (_p, req) => previewed.add(req.prompt),
    });
    await typeBurst(live);
    await live.idle();

    const stats = live.stats();
    expect(rendered).toEqual([prompts[39]]);
    expect(stats.completed).toBe(1);
    expect(stats.started).toBeGreaterThan(20); // runs did start while typing…
    expect(stats.aborted).toBe(stats.started - 1); // …and every one but the last was stopped
    expect(stats.abortLatencySteps.every((steps) => steps <= 1)).toBe(true);
    expect(watched.maxInFlight).toBe(1);
    expect(previewed.size).toBeGreaterThan(1); // stale runs still showed their steps while current
    await live.dispose();
  });

  it('dispose aborts the run in flight and ignores later changes', async () => {
    const rendered: string[] = [];
    const live = new LivePreview({ engine: watched, debounceMs: 0, onRender: (_r, req) => rendered.push(req.prompt) });
    live.update(request('a quiet forest'));
    await sleep(30);
    await live.dispose();
    live.update(request('too late'));
    await sleep(20);
    expect(rendered).toEqual([]);
    expect(live.stats()).toMatchObject({ started: 1, aborted: 1, completed: 0 });
  });
});
