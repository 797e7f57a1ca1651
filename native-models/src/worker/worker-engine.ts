/**
 * `LocalEngine` out of process: requests go to the inference worker as messages, progress and
 * results come back. The worker starts on first use; if it dies (crash, out of memory, killed),
 * every request in flight fails with a retryable error and the next request starts a fresh one.
 * Also keeps the busy-time share that the "local GPU utilisation" KPI reports.
 */
import { AppError } from '../../../src/contract/errors.js';
import {
  GenerationCancelledError,
  type EngineUsage,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type LocalEngine,
  type ModelInfo,
  type StepProgress,
  type TokenizeResult,
} from '../engine.js';
import { BusyMeter } from '../pipelines/busy-meter.js';
import { describeIssue, WorkerMessageSchema, type HostMessageInput, type WorkerMessage } from './protocol.js';
import { childProcessChannel, type SpawnWorker, type WorkerChannel } from './worker-channel.js';

export interface WorkerEngineOptions {
  /** Default: a child process running the compiled worker-entry.js beside this module. */
  readonly spawn?: SpawnWorker;
}

type Reply = Exclude<WorkerMessage, { type: 'ready' | 'progress' | 'cancelled' | 'failed' }>;

interface Pending {
  accept(reply: Reply): void;
  reject(error: AppError): void;
  onProgress?: ((progress: StepProgress) => void) | undefined;
}

type Request = HostMessageInput extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export class WorkerEngine implements LocalEngine {
  private readonly spawn: SpawnWorker;
  private channel: WorkerChannel | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly meter = new BusyMeter();
  private nextId = 1;
  private starts = 0;
  private crashes = 0;
  private disposed = false;

  constructor(options: WorkerEngineOptions = {}) {
    this.spawn = options.spawn ?? (() => childProcessChannel());
  }

  inspect(modelDir: string): Promise<ModelInfo> {
    return this.call({ type: 'inspect', modelDir }, (r) => (r.type === 'inspected' ? r.info : undefined));
  }

  generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.call({ type: 'generate', request }, (r) => (r.type === 'generated' ? r.result : undefined), { ...options, busy: true });
  }

  embedText(modelDir: string, text: string): Promise<Float32Array> {
    return this.call({ type: 'embed', modelDir, text }, (r) => (r.type === 'embedded' ? r.embedding : undefined), { busy: true });
  }

  tokenize(modelDir: string, text: string): Promise<TokenizeResult> {
    return this.call({ type: 'tokenize', modelDir, text }, (r) => (r.type === 'tokenized' ? r.result : undefined));
  }

  /** Host → worker → host time of an empty message, in ms (what each progress event costs, twice). */
  async ping(): Promise<number> {
    const started = performance.now();
    await this.call({ type: 'ping' }, (r) => (r.type === 'pong' ? true : undefined));
    return performance.now() - started;
  }

  usage(): EngineUsage {
    return this.meter.usage({ starts: this.starts, crashes: this.crashes });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const channel = this.channel;
    this.channel = null;
    this.failAll(new AppError('cancelled', 'The local engine was shut down', { hint: 'Nothing to fix; the app is closing or switching engines.' }));
    if (channel === null) return;
    const exited = new Promise<void>((resolve) => channel.onExit(() => resolve()));
    channel.post({ type: 'shutdown' });
    // A worker stuck inside a long model call cannot read the shutdown message; stop it outright.
    const timer = setTimeout(() => void channel.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }

  private call<T>(
    message: Request,
    pick: (reply: Reply) => T | undefined,
    options: GenerateOptions & { busy?: boolean } = {},
  ): Promise<T> {
    if (this.disposed) return Promise.reject(new AppError('internal', 'The local engine was already shut down'));
    const { signal, onProgress, busy = false } = options;
    if (signal?.aborted === true) return Promise.reject(new GenerationCancelledError('Generation cancelled before it started', 0));
    let channel: WorkerChannel;
    try {
      channel = this.ensureWorker();
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const endBusy = busy ? this.meter.begin() : () => undefined;
      const onAbort = () => channel.post({ type: 'cancel', id });
      const settle = () => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        endBusy();
      };
      this.pending.set(id, {
        onProgress,
        accept: (reply) => {
          settle();
          const value = pick(reply);
          if (value === undefined) reject(new AppError('internal', `The inference worker answered a ${message.type} request with "${reply.type}"`));
          else resolve(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      channel.post({ ...message, id } as HostMessageInput);
    });
  }

  private ensureWorker(): WorkerChannel {
    if (this.channel !== null) return this.channel;
    const channel = this.spawn();
    this.starts++;
    this.channel = channel;
    channel.onMessage((raw) => this.receive(raw));
    channel.onExit((reason) => {
      if (this.channel === channel) this.channel = null;
      if (this.disposed) return;
      this.crashes++;
      this.failAll(
        new AppError('internal', `The local inference worker stopped unexpectedly (${reason}); the request in progress was lost`, {
          hint: 'Try again: a fresh worker starts automatically. If it keeps stopping, the model may not fit in memory; try a smaller size or model.',
          retryable: true,
        }),
      );
    });
    return channel;
  }

  private receive(raw: unknown): void {
    const parsed = WorkerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : null;
      const pending = id === null ? undefined : this.pending.get(id);
      pending?.reject(new AppError('internal', `The inference worker sent an invalid message: ${describeIssue(parsed.error)}`));
      return;
    }
    const message = parsed.data;
    if (message.type === 'ready') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return; // already settled (e.g. failed when the worker crashed)
    switch (message.type) {
      case 'progress':
        pending.onProgress?.(message.progress);
        return;
      case 'cancelled':
        pending.reject(new GenerationCancelledError(message.message, message.stepsAfterCancel));
        return;
      case 'failed':
        pending.reject(AppError.fromPayload(message.error));
        return;
      default:
        pending.accept(message);
    }
  }

  private failAll(error: AppError): void {
    for (const pending of [...this.pending.values()]) pending.reject(error);
  }
}
