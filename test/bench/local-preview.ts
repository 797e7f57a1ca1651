/**
 * Local previews benchmark (issue 4): the code lives in native-models/src/bench (compiled with the
 * rest by `npm run build:node`); this entry adds the core's live-mode controller, which
 * native-models may not import itself. `npm run bench` runs it (test/bench/run.mjs).
 */
import { run as runLocalPreviewBench, type BenchRow } from '../../native-models/src/bench/local-preview-bench.js';
import { LivePreview } from '../../src/core/local/live-preview.js';

export async function run(): Promise<BenchRow[]> {
  return runLocalPreviewBench({
    liveController: (options) => new LivePreview(options),
    log: (line) => process.stderr.write(`  … ${line}\n`),
  });
}
