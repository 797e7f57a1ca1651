/**
 * The tiny random-weight model folders (native-models/tools/make_tiny_models.py), generated once
 * into test/fixtures/models/ and regenerated only when the generator script changes. Also runs
 * the numpy reference (reference_pipeline.py) for cross-checks.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { repoRoot } from './tmp.js';

/** Debian's python3 has numpy and onnx; override for other machines. */
export const PYTHON = process.env.IMAGEBENCH_PYTHON ?? '/usr/bin/python3';
export const TINY_MODELS_DIR = path.join(repoRoot, 'test', 'fixtures', 'models');
const GENERATOR = path.join(repoRoot, 'native-models', 'tools', 'make_tiny_models.py');
const REFERENCE = path.join(repoRoot, 'native-models', 'tools', 'reference_pipeline.py');
const STAMP = '.generator-sha256';
// Inside the git-ignored folder, so a crashed run leaves nothing for git to see.
const LOCK = path.join(TINY_MODELS_DIR, '.lock');
const STALE_LOCK_MS = 120_000;

/** Path of the generated folders; generates them first if missing or made by another generator version. */
export function tinyModelsDir(): string {
  const hash = createHash('sha256').update(fs.readFileSync(GENERATOR)).digest('hex');
  if (readStamp() === hash) return TINY_MODELS_DIR;
  // Test files run in parallel workers: one generates, the others wait for it. The stamp is
  // removed first and written last, so nobody trusts a half-written set.
  withLock(() => {
    if (readStamp() === hash) return;
    for (const entry of fs.readdirSync(TINY_MODELS_DIR)) {
      if (entry !== '.lock') fs.rmSync(path.join(TINY_MODELS_DIR, entry), { recursive: true, force: true });
    }
    execFileSync(PYTHON, ['-B', GENERATOR, TINY_MODELS_DIR], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.writeFileSync(path.join(TINY_MODELS_DIR, STAMP), hash);
  });
  return TINY_MODELS_DIR;
}

function readStamp(): string | null {
  try {
    return fs.readFileSync(path.join(TINY_MODELS_DIR, STAMP), 'utf8');
  } catch {
    return null; // not generated yet
  }
}

function withLock(body: () => void): void {
  fs.mkdirSync(TINY_MODELS_DIR, { recursive: true });
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(LOCK, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (fs.statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS || Date.now() > deadline) fs.rmSync(LOCK, { force: true }); // a crashed run left it
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    body();
  } finally {
    fs.rmSync(LOCK, { force: true });
  }
}

export type ReferenceDType = 'float32' | 'float16' | 'int32' | 'int64';

export interface ReferenceComponentRequest {
  readonly model_dir: string;
  readonly component: string;
  readonly inputs: Readonly<Record<string, { dtype: ReferenceDType; dims: readonly number[]; data: readonly number[] }>>;
  readonly outputs?: readonly string[];
}

const ComponentResultSchema = z.object({
  outputs: z.record(z.string(), z.object({ dims: z.array(z.number()), data: z.array(z.number()) })),
});
export type ReferenceComponentResult = z.infer<typeof ComponentResultSchema>;

/** Runs several single-model forward passes in the numpy reference (one python process). */
export function referenceComponents(requests: readonly ReferenceComponentRequest[]): ReferenceComponentResult[] {
  const stdout = execFileSync(PYTHON, ['-B', REFERENCE], { input: JSON.stringify(requests), maxBuffer: 1024 ** 3 });
  return z.array(ComponentResultSchema).parse(JSON.parse(stdout.toString('utf8')));
}

export interface ReferencePipelineRequest {
  readonly model_dir: string;
  readonly input_ids: readonly (readonly number[])[];
  readonly input_ids_2?: readonly (readonly number[])[];
  /** Every unit-Gaussian draw in generator order: initial latents, then per-step draws (see reference_pipeline.py). */
  readonly noise: readonly number[];
  readonly height: number;
  readonly width: number;
  readonly steps: number;
  readonly scheduler: 'euler' | 'euler_ancestral' | 'lcm';
  readonly guidance_scale?: number;
}

const PipelineResultSchema = z.object({
  family: z.string(),
  timesteps: z.array(z.number()),
  latents: z.array(z.number()),
  latents_shape: z.array(z.number()),
  image: z.array(z.number()),
  image_shape: z.array(z.number()),
});
export type ReferencePipelineResult = z.infer<typeof PipelineResultSchema>;

/** The whole text → latents → image loop in the numpy reference, for cross-checking the TypeScript pipeline. */
export function referencePipeline(request: ReferencePipelineRequest): ReferencePipelineResult {
  const stdout = execFileSync(PYTHON, ['-B', REFERENCE], { input: JSON.stringify(request), maxBuffer: 1024 ** 3 });
  return PipelineResultSchema.parse(JSON.parse(stdout.toString('utf8')));
}
