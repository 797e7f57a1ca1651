/**
 * `LocalEngine` in the calling thread: the pipeline plus the session cache, with model calls run
 * one at a time (they share the loaded sessions, and a model switch releases them). The worker
 * runs exactly this; in the app's main thread it would block the UI, so hosts use `WorkerEngine`.
 */
import { createOrtBackend, type OrtBackend } from '../backend/ort.js';
import type { GenerateOptions, GenerateRequest, GenerateResult, LocalEngine, ModelInfo, TokenizeResult } from '../engine.js';
import { readModelFolder, type ModelFolder } from '../models/model-folder.js';
import { schedulerNameForClass } from '../schedulers/index.js';
import { ClipTokenizer, CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';
import { BusyMeter } from './busy-meter.js';
import { runDiffusion } from './diffusion-pipeline.js';
import { ModelSessions } from './model-sessions.js';
import { parseRequest } from './run-plan.js';
import { encodePromptEmbedding } from './text-conditioning.js';

export interface PipelineEngineOptions {
  /** Injectable so tests and benchmarks can observe or restrict the runtime. */
  readonly backend?: OrtBackend;
}

export class PipelineEngine implements LocalEngine {
  private readonly backend: OrtBackend;
  private readonly sessions: ModelSessions;
  private readonly meter = new BusyMeter();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: PipelineEngineOptions = {}) {
    this.backend = options.backend ?? createOrtBackend();
    this.sessions = new ModelSessions(this.backend);
  }

  async inspect(modelDir: string): Promise<ModelInfo> {
    const folder = (await this.sessions.loadedFolder(modelDir)) ?? (await readModelFolder(modelDir));
    return modelInfoOf(folder, this.backend.listExecutionProviders().map((p) => p.name));
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const parsed = parseRequest(request);
    return this.exclusive(async () => {
      const model = await this.sessions.open(parsed.modelDir, { executionProvider: parsed.executionProvider, threads: parsed.threads });
      const { latents: _decoded, ...result } = await runDiffusion(model, parsed, options);
      return result;
    });
  }

  embedText(modelDir: string, text: string): Promise<Float32Array> {
    return this.exclusive(async () => {
      const model = await this.sessions.open(modelDir, null);
      return encodePromptEmbedding(model, text);
    });
  }

  async tokenize(modelDir: string, text: string): Promise<TokenizeResult> {
    const folder = (await this.sessions.loadedFolder(modelDir)) ?? (await readModelFolder(modelDir));
    const encoders = await Promise.all(
      folder.tokenizers.map(async (files) => {
        const encoding = (await ClipTokenizer.fromFolder(files.dir)).encode(text, { padTo: CONTEXT_LENGTH, padId: files.padTokenId });
        return { tokenizer: files.dir, padId: files.padTokenId, ...encoding };
      }),
    );
    return { encoders };
  }

  usage() {
    return this.meter.usage();
  }

  async dispose(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.sessions.release();
  }

  /** Model calls in arrival order, one at a time; each counts as busy time while it runs. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => undefined).then(async () => {
      const end = this.meter.begin();
      try {
        return await task();
      } finally {
        end();
      }
    });
    this.queue = run;
    return run;
  }
}

export function modelInfoOf(folder: ModelFolder, executionProviders: readonly string[]): ModelInfo {
  const components = [...folder.textEncoders, folder.unet, folder.vaeDecoder, ...(folder.vaeEncoder !== null ? [folder.vaeEncoder] : [])];
  return {
    root: folder.root,
    pipelineClass: folder.pipelineClass,
    family: folder.family,
    turbo: folder.turbo,
    familyEvidence: folder.familyEvidence,
    defaults: { ...folder.defaults },
    licence: { ...folder.licence },
    scheduler: { className: folder.scheduler.className, runsAs: schedulerNameForClass(folder.scheduler.className) ?? 'euler' },
    vaeScalingFactor: folder.vaeScalingFactor,
    imageToImage: folder.vaeEncoder !== null,
    components: components.map((c) => ({ name: c.name, modelPath: c.modelPath, externalDataFiles: [...c.externalDataFiles] })),
    tokenizers: folder.tokenizers.map((t) => ({ dir: t.dir, padToken: t.padToken, padTokenId: t.padTokenId })),
    executionProviders: [...executionProviders],
  };
}
