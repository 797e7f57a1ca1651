/**
 * For the overhead benchmark: an ONNX Runtime backend whose sessions remember every `run` call
 * (feeds, outputs asked for), so the very same calls can be replayed straight on the sessions and
 * timed without the pipeline around them.
 */
import { performance } from 'node:perf_hooks';
import type { ModelSession, OrtBackend, Tensor } from '../backend/ort.js';

export interface RecordedCall {
  readonly session: ModelSession;
  readonly feeds: Readonly<Record<string, Tensor>>;
  readonly outputNames: readonly string[] | undefined;
}

export function recordingBackend(inner: OrtBackend): { backend: OrtBackend; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const backend: OrtBackend = {
    listExecutionProviders: () => inner.listExecutionProviders(),
    async createSession(modelPath, options) {
      const session = await inner.createSession(modelPath, options);
      return {
        ...session,
        run(feeds, outputNames) {
          calls.push({ session, feeds, outputNames });
          return session.run(feeds, outputNames);
        },
      };
    },
  };
  return { backend, calls };
}

/** Runs the calls again, in order, on the unwrapped sessions; the sum of their run times in ms. */
export async function replay(calls: readonly RecordedCall[]): Promise<number> {
  let total = 0;
  for (const call of calls) {
    const started = performance.now();
    await call.session.run(call.feeds, call.outputNames);
    total += performance.now() - started;
  }
  return total;
}
