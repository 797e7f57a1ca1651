/**
 * ONNX Runtime sessions of one model folder at a time. Sessions are created on first use (an
 * embedding needs only the text encoders, text-to-image never needs the VAE encoder), kept while
 * the same folder and provider are asked for, and all released before another folder is loaded:
 * a real SDXL UNet alone is gigabytes, two models side by side would not fit.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError } from '../../../src/contract/errors.js';
import type { ExecutionProvider, ModelSession, OrtBackend } from '../backend/ort.js';
import type { ExecutionProviderChoice } from '../engine.js';
import { readModelFolder, type ComponentName, type ModelComponent, type ModelFolder } from '../models/model-folder.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';

export interface SessionOptions {
  readonly executionProvider: ExecutionProviderChoice;
  readonly threads?: number | undefined;
}

/** The sessions of one folder; components load lazily and at most once. */
export class LoadedModel {
  private readonly sessions = new Map<ComponentName, Promise<ModelSession>>();
  private tokenizerList: Promise<ClipTokenizer[]> | null = null;
  private loadMsTotal = 0;
  private released = false;

  constructor(
    readonly folder: ModelFolder,
    private readonly backend: OrtBackend,
    readonly options: SessionOptions,
  ) {}

  /** Milliseconds spent creating sessions so far; callers diff it around a call. */
  get loadMs(): number {
    return this.loadMsTotal;
  }

  /** Loading vocab + merges takes ~0.1 s per tokenizer; it counts as load time, not tokenizing. */
  tokenizers(): Promise<ClipTokenizer[]> {
    if (this.tokenizerList === null) {
      const started = performance.now();
      this.tokenizerList = Promise.all(this.folder.tokenizers.map((t) => ClipTokenizer.fromFolder(t.dir)));
      void this.tokenizerList.finally(() => (this.loadMsTotal += performance.now() - started)).catch(() => undefined);
    }
    return this.tokenizerList;
  }

  session(name: ComponentName): Promise<ModelSession> {
    if (this.released) throw new AppError('internal', `The sessions of ${this.folder.root} were released; open the model again`);
    let loading = this.sessions.get(name);
    if (loading === undefined) {
      loading = this.create(this.component(name));
      this.sessions.set(name, loading);
      // A failed load is not cached: the next call retries (and reports) it afresh.
      loading.catch(() => this.sessions.delete(name));
    }
    return loading;
  }

  /**
   * Where the UNet runs (it is where the time goes) and why it is not the provider asked for. Every
   * component falls back for the same reasons, so the first one to load says it for all; a component
   * that landed on a different provider than the UNet is named.
   */
  async executionReport(): Promise<{ executionProvider: ExecutionProvider; fallbackReason: string | null }> {
    const unet = await this.session('unet');
    let first: string | null = null;
    const differing: string[] = [];
    for (const loading of this.sessions.values()) {
      const session = await loading.catch(() => null);
      if (!session) continue;
      first ??= session.fallbackReason;
      if (session.executionProvider !== unet.executionProvider) differing.push(`${componentOf(this.folder, session.modelPath)} runs on ${session.executionProvider}`);
    }
    const parts = [first, ...differing].filter((p): p is string => p !== null);
    return { executionProvider: unet.executionProvider, fallbackReason: parts.length > 0 ? parts.join('; ') : null };
  }

  async release(): Promise<void> {
    this.released = true;
    const loaded = await Promise.all([...this.sessions.values()].map((s) => s.catch(() => null)));
    this.sessions.clear();
    await Promise.all(loaded.map((s) => s?.release()));
  }

  private component(name: ComponentName): ModelComponent {
    const folder = this.folder;
    const found =
      name === 'unet' ? folder.unet
      : name === 'vae_decoder' ? folder.vaeDecoder
      : name === 'vae_encoder' ? folder.vaeEncoder
      : folder.textEncoders.find((e) => e.name === name);
    if (found === null || found === undefined) {
      throw new AppError('model_invalid', `${name}/model.onnx is missing in ${folder.root}`, {
        hint: name === 'vae_encoder' ? 'Image-to-image needs the VAE encoder; export the model with it, or use text-to-image.' : 'Export the model folder again.',
      });
    }
    return found;
  }

  private async create(component: ModelComponent): Promise<ModelSession> {
    const started = performance.now();
    try {
      return await this.backend.createSession(component.modelPath, {
        executionProvider: this.options.executionProvider,
        ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
      });
    } finally {
      this.loadMsTotal += performance.now() - started;
    }
  }
}

/** The cache: one folder (with one provider choice) loaded at a time. */
export class ModelSessions {
  private current: { root: string; key: string; model: Promise<LoadedModel> } | null = null;

  constructor(private readonly backend: OrtBackend) {}

  /**
   * The loaded folder for these options, releasing the previous one first if it differs.
   * `null` options take the folder as it is already loaded (an embedding does not care which
   * provider), or the defaults when it is not.
   */
  async open(modelDir: string, options: SessionOptions | null): Promise<LoadedModel> {
    const root = resolve(modelDir);
    const wanted = options ?? { executionProvider: 'auto' };
    const key = JSON.stringify([root, wanted.executionProvider, wanted.threads ?? null]);
    if (this.current !== null && (this.current.key === key || (options === null && this.current.root === root))) {
      const cached = await this.current.model.catch(() => null);
      if (cached !== null) return cached;
    }
    await this.release();
    const model = readModelFolder(root).then((folder) => new LoadedModel(folder, this.backend, wanted));
    this.current = { root, key, model };
    return model;
  }

  /** The folder's parsed description if it is the one loaded (no disk access), else null. */
  async loadedFolder(modelDir: string): Promise<ModelFolder | null> {
    if (this.current?.root !== resolve(modelDir)) return null;
    return (await this.current.model.catch(() => null))?.folder ?? null;
  }

  async release(): Promise<void> {
    const previous = this.current;
    this.current = null;
    const model = await previous?.model.catch(() => null);
    await model?.release();
  }
}

function componentOf(folder: ModelFolder, modelPath: string): string {
  const all = [...folder.textEncoders, folder.unet, folder.vaeDecoder, ...(folder.vaeEncoder ? [folder.vaeEncoder] : [])];
  return all.find((c) => c.modelPath === modelPath)?.name ?? modelPath;
}
