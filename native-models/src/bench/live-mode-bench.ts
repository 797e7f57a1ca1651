/**
 * Live mode under the benchmark: 40 keystrokes 50 ms apart against the out-of-process engine.
 * The controller itself lives in the core (src/core/local/live-preview.ts), which native-models may
 * not import, so the caller passes a factory for it.
 */
import { performance } from 'node:perf_hooks';
import type { GenerateOptions, GenerateRequest, GenerateResult, LocalEngine } from '../engine.js';
import type { BenchRow } from './local-preview-bench.js';

export interface LiveControllerLike {
  update(request: GenerateRequest): void;
  idle(): Promise<void>;
  stats(): { readonly started: number; readonly completed: number; readonly aborted: number; readonly abortLatencySteps: readonly number[] };
  dispose(): Promise<void>;
}

export type LiveControllerFactory = (options: {
  readonly engine: Pick<LocalEngine, 'generate'>;
  readonly debounceMs: number;
  readonly onRender: (result: GenerateResult, request: GenerateRequest) => void;
}) => LiveControllerLike;

const KEYSTROKES = 40;
const INTERVAL_MS = 50;
const sleep = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));
const ms = (value: number) => Number(value.toPrecision(3));
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** Typing while a render of an earlier prompt runs, with the given debounce. */
export async function measureLiveMode(
  engine: LocalEngine,
  createController: LiveControllerFactory,
  base: Omit<GenerateRequest, 'prompt'>,
  debounceMs: number,
  label: string,
): Promise<BenchRow[]> {
  const abortMs: number[] = [];
  // Times each abort from the signal to the engine's "cancelled": the latency a user waits.
  const timed: Pick<LocalEngine, 'generate'> = {
    generate(request: GenerateRequest, options: GenerateOptions = {}) {
      let abortedAt: number | null = null;
      options.signal?.addEventListener('abort', () => (abortedAt = performance.now()), { once: true });
      return engine.generate(request, options).catch((error: unknown) => {
        if (abortedAt !== null) abortMs.push(performance.now() - abortedAt);
        throw error;
      });
    },
  };
  const rendered: string[] = [];
  const live = createController({ engine: timed, debounceMs, onRender: (_result, request) => rendered.push(request.prompt) });
  const sentence = 'a lighthouse on a cliff at dusk, oil painting, dramatic sky';
  const prompts = Array.from({ length: KEYSTROKES }, (_, i) => sentence.slice(0, Math.ceil(((i + 1) * sentence.length) / KEYSTROKES)));

  live.update({ ...base, prompt: 'a harbour at dawn' });
  await sleep(debounceMs + 30); // its render is in flight when typing starts
  for (const prompt of prompts) {
    live.update({ ...base, prompt });
    await sleep(INTERVAL_MS);
  }
  await live.idle();
  const stats = live.stats();
  await live.dispose();

  const lastPromptRendered = rendered.length === 1 && rendered[0] === prompts[KEYSTROKES - 1] ? 1 : 0;
  return [
    { name: `live mode, ${label}: renders completed`, value: stats.completed, unit: 'renders', target: '1' },
    { name: `live mode, ${label}: the one render is of the final prompt`, value: lastPromptRendered, unit: 'yes=1', target: '1' },
    { name: `live mode, ${label}: runs started / aborted`, value: stats.started, unit: `started (${stats.aborted} aborted)` },
    { name: `live mode, ${label}: abort latency, worst`, value: Math.max(0, ...stats.abortLatencySteps), unit: 'steps', target: '≤ 1' },
    { name: `live mode, ${label}: abort → cancelled, median / worst`, value: ms(median(abortMs)), unit: `ms (worst ${ms(Math.max(0, ...abortMs))} ms)` },
  ];
}
