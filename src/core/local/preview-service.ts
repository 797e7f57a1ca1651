import { randomInt, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { GenerateRequest, GenerateResult, LocalEngine, StepProgress } from '../../../native-models/src/engine.js';
import { AppError, toErrorPayload } from '../../contract/errors.js';
import type { GenerationParameters } from '../../contract/images.js';
import type { PreviewInput, PreviewResult } from '../../contract/preview.js';
import { PreviewInputSchema } from '../../contract/preview.js';
import type { EventBus } from '../events.js';
import { toDataUrl } from '../images/data-url.js';
import { embedParameters } from '../images/generation-parameters.js';
import type { ImageStore } from '../images/image-store.js';
import type { ModelManager } from '../models/model-manager.js';
import type { SettingsService } from '../settings/settings-service.js';
import { LivePreview } from './live-preview.js';
import type { LocalRunLog } from './run-log.js';

export interface PreviewServiceDeps {
  /** Started on first use: a worker process costs memory, and many CLI commands never render. */
  engineFactory: () => LocalEngine;
  models: ModelManager;
  images: ImageStore;
  runs: LocalRunLog;
  settings: SettingsService;
  events: EventBus;
}

/** What the request was made from, kept beside it so a finished render can be stored and reported. */
interface RenderContext {
  requestId: string;
  modelId: string;
  family: string;
  negativePrompt: string | undefined;
}

/**
 * Local previews for every host: resolves the model and defaults, runs the engine
 * off-thread, turns step progress into small latent images, and stores each result
 * as a PNG with its parameters. Live mode keeps only the newest request.
 */
export class PreviewService {
  private engine: LocalEngine | null = null;
  private live: LivePreview | null = null;
  private readonly running = new Map<string, AbortController>();
  private readonly contexts = new WeakMap<GenerateRequest, RenderContext>();

  constructor(private readonly deps: PreviewServiceDeps) {}

  async generate(input: PreviewInput): Promise<PreviewResult> {
    const { request, context } = await this.prepare(input);
    const controller = new AbortController();
    this.running.set(context.requestId, controller);
    const started = performance.now();
    try {
      const result = await this.getEngine().generate(request, {
        signal: controller.signal,
        onProgress: (progress) => void this.emitProgress(context.requestId, progress),
      });
      return await this.finish(request, result, context);
    } catch (error) {
      this.recordFailure(request, context, error, performance.now() - started);
      throw error;
    } finally {
      this.running.delete(context.requestId);
    }
  }

  /** Live mode: replaces any waiting request; the render arrives as a `preview.result` event. */
  async updateLive(input: PreviewInput): Promise<void> {
    const { request } = await this.prepare(input);
    this.live ??= new LivePreview({
      engine: this.getEngine(),
      debounceMs: this.deps.settings.get().preview.debounceMs,
      onProgress: (progress, req) => {
        const context = this.contexts.get(req);
        if (context) void this.emitProgress(context.requestId, progress);
      },
      onRender: (result, req) => {
        const context = this.contexts.get(req);
        if (!context) return;
        this.finish(req, result, context).then(
          (preview) => this.deps.events.emit('preview.result', preview),
          (error: unknown) => this.deps.events.emit('preview.error', { requestId: context.requestId, error: toErrorPayload(error) }),
        );
      },
      onError: (error, req) => {
        const context = this.contexts.get(req);
        if (context) this.deps.events.emit('preview.error', { requestId: context.requestId, error: toErrorPayload(error) });
      },
    });
    this.live.update(request);
  }

  cancel(requestId: string): boolean {
    const controller = this.running.get(requestId);
    controller?.abort();
    return controller !== undefined;
  }

  async tokenize(text: string, modelId?: string) {
    const model = this.resolveModel(modelId);
    const result = await this.getEngine().tokenize(model.path, text);
    const first = result.encoders[0];
    if (!first) throw new AppError('model_invalid', `${model.name} has no tokenizer.`);
    return { tokenCount: first.tokenCount, maxTokens: 75, truncated: first.truncated, cutWords: first.cutWords };
  }

  /** The pooled text embedding of a prompt from a local model's text encoder (semantic cache). */
  embed(modelDir: string, text: string): Promise<Float32Array> {
    return this.getEngine().embedText(modelDir, text);
  }

  /** Share of wall time the worker was busy, for the dashboard; null before it has started. */
  busyShare(): number | null {
    return this.engine ? this.engine.usage().busyShare : null;
  }

  async dispose(): Promise<void> {
    await this.live?.dispose();
    await this.engine?.dispose();
  }

  private getEngine(): LocalEngine {
    this.engine ??= this.deps.engineFactory();
    return this.engine;
  }

  private resolveModel(modelId: string | undefined) {
    const chosen = modelId ?? this.deps.settings.get().preview.modelId ?? undefined;
    if (chosen) return this.deps.models.registry.get(chosen);
    const installed = this.deps.models.list();
    if (installed.length === 1 && installed[0]) return installed[0];
    throw new AppError('invalid_input', installed.length === 0 ? 'No local model is installed.' : 'Which model? Several are installed.', {
      hint: installed.length === 0 ? 'Import one with `imagebench models import <folder>` or in Settings → Local models.' : `Pick one of: ${installed.map((m) => m.id).join(', ')}.`,
    });
  }

  private async prepare(raw: PreviewInput): Promise<{ request: GenerateRequest; context: RenderContext }> {
    const input = PreviewInputSchema.parse(raw);
    const model = this.resolveModel(input.modelId);
    const settings = this.deps.settings.get();
    const request: GenerateRequest = {
      modelDir: model.path,
      prompt: input.prompt,
      negativePrompt: input.negativePrompt,
      width: input.width,
      height: input.height,
      steps: input.steps,
      guidanceScale: input.guidanceScale,
      seed: input.seed ?? randomInt(0, 2 ** 32 - 1),
      batchSize: input.batchCount,
      scheduler: input.scheduler,
      strength: input.strength,
      initImage: input.initImageId ? await this.initImage(input.initImageId, input.width ?? model.defaults.width, input.height ?? model.defaults.height) : undefined,
      executionProvider: settings.preview.executionProvider,
      previewEvery: 1,
      pixelFormat: 'rgba',
    };
    const context: RenderContext = { requestId: randomUUID(), modelId: model.id, family: model.family, negativePrompt: input.negativePrompt };
    this.contexts.set(request, context);
    return { request, context };
  }

  /** The init image resized to the output size, as raw RGB for the VAE encoder. */
  private async initImage(id: string, width: number, height: number) {
    const { data, info } = await sharp(await this.deps.images.read(id)).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 as const };
  }

  private async emitProgress(requestId: string, progress: StepProgress): Promise<void> {
    const p = progress.preview;
    // Fast compression: a latent preview lives for one step.
    const latentPreview = p ? toDataUrl(await encodePng(p.data, p.width, p.height, 4, 1), 'image/png') : undefined;
    this.deps.events.emit('preview.progress', { requestId, step: progress.step, totalSteps: progress.totalSteps, elapsedMs: progress.elapsedMs, latentPreview });
  }

  private async finish(request: GenerateRequest, result: GenerateResult, context: RenderContext): Promise<PreviewResult> {
    const parameters: GenerationParameters = {
      prompt: request.prompt,
      negativePrompt: context.negativePrompt,
      provider: 'local',
      model: context.modelId,
      width: result.width,
      height: result.height,
      seed: result.seed,
      steps: result.timesteps.length,
      guidanceScale: result.guidanceScale,
      scheduler: result.scheduler,
      extra: { executionProvider: result.executionProvider, family: result.family, ...(result.strength !== null ? { strength: result.strength } : {}) },
    };
    const images = [];
    for (const image of result.images) {
      const png = await encodePng(image.data, image.width, image.height, image.channels);
      const withParameters = embedParameters(png, parameters);
      const stored = await this.deps.images.put(withParameters, { source: 'local-preview', parameters });
      images.push({ imageId: stored.image.id, dataUrl: toDataUrl(withParameters, 'image/png') });
    }
    this.deps.runs.record({
      modelId: context.modelId,
      executionProvider: result.executionProvider,
      steps: result.timesteps.length,
      width: result.width,
      height: result.height,
      status: 'completed',
      totalMs: result.timings.totalMs,
      imageId: images[0]?.imageId ?? null,
    });
    return {
      requestId: context.requestId,
      images,
      modelId: context.modelId,
      family: result.family,
      seed: result.seed,
      steps: result.timesteps.length,
      width: result.width,
      height: result.height,
      scheduler: result.scheduler,
      executionProvider: result.executionProvider,
      fallbackReason: result.fallbackReason,
      prompt: result.prompt,
      timings: {
        loadMs: result.timings.loadMs,
        tokenizeMs: result.timings.tokenizeMs,
        textEncodeMs: result.timings.textEncodeMs,
        unetStepMs: result.timings.unetStepMs,
        vaeDecodeMs: result.timings.vaeDecodeMs,
        totalMs: result.timings.totalMs,
      },
    };
  }

  private recordFailure(request: GenerateRequest, context: RenderContext, error: unknown, ms: number): void {
    this.deps.runs.record({
      modelId: context.modelId,
      executionProvider: request.executionProvider ?? 'auto',
      steps: request.steps ?? 0,
      width: request.width ?? 0,
      height: request.height ?? 0,
      status: error instanceof AppError && error.code === 'cancelled' ? 'cancelled' : 'failed',
      totalMs: ms,
      imageId: null,
    });
  }
}

/** Raw pixels from the engine to PNG bytes. */
function encodePng(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: 3 | 4, compressionLevel = 6): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels } }).png({ compressionLevel }).toBuffer();
}
