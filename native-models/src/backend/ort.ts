/**
 * The one file that talks to onnxruntime-node. Everything else in native-models works with the
 * plain tensors and session wrapper declared here, so the runtime (and its quirks: fp16 as raw
 * bits, int64 as BigInt, execution providers that exist in the build but not on the machine)
 * stays behind one small interface.
 */
import { stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../../src/contract/errors.js';
import type { Tensor, TensorInfo } from './tensors.js';

// Callers get everything a session needs from this one module.
export { float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';
export * from './tensors.js';

/** Execution providers the Node binding can be asked for (reference §6.1). */
export type ExecutionProvider = 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu' | 'cpu';

/** GPU first, CPU last. TensorRT is left out: it builds engines on first use, minutes per model. */
export const EXECUTION_PROVIDER_PREFERENCE: readonly ExecutionProvider[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

const PROVIDER_LABELS: Record<ExecutionProvider, string> = {
  cuda: 'CUDA',
  tensorrt: 'TensorRT',
  dml: 'DirectML',
  coreml: 'Core ML',
  webgpu: 'WebGPU',
  cpu: 'CPU',
};

export interface ExecutionProviderInfo {
  readonly name: string;
  /** false: compiled in, but its libraries are fetched at install time (CUDA, TensorRT) and may be absent. */
  readonly bundled: boolean;
}

export interface SessionOptions {
  /** 'auto' (default) walks EXECUTION_PROVIDER_PREFERENCE; a named provider falls back to CPU with a reason. */
  readonly executionProvider?: ExecutionProvider | 'auto';
  /** Intra-op threads; omitted lets ONNX Runtime use one per physical core. */
  readonly threads?: number;
}

export interface ModelSession {
  readonly modelPath: string;
  /** The provider the session actually runs on. */
  readonly executionProvider: ExecutionProvider;
  /** Why it is not the requested (or most preferred) provider; null when nothing fell back. */
  readonly fallbackReason: string | null;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** Runs the model; blocks the calling thread for the duration (reference §6.2), so call it from a worker. */
  run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface OrtBackend {
  listExecutionProviders(): readonly ExecutionProviderInfo[];
  createSession(modelPath: string, options?: SessionOptions): Promise<ModelSession>;
}

export interface OrtBackendDependencies {
  /** Which providers this onnxruntime-node build has; injectable so fallback paths can be tested anywhere. */
  readonly listSupportedBackends?: () => readonly ExecutionProviderInfo[];
}

/** Names of the providers this onnxruntime-node build offers (compiled in; not proof that a GPU works). */
export async function listExecutionProviders(): Promise<string[]> {
  return ort.listSupportedBackends().map((b) => b.name);
}

export function createOrtBackend(deps: OrtBackendDependencies = {}): OrtBackend {
  const listSupported = deps.listSupportedBackends ?? (() => ort.listSupportedBackends());
  // A provider that failed while CPU then loaded the same model is broken on this machine (missing
  // libraries, no adapter); remember it so each component does not pay for the probe again.
  const brokenProviders = new Map<ExecutionProvider, string>();

  return {
    listExecutionProviders: () => listSupported().map(({ name, bundled }) => ({ name, bundled })),

    async createSession(modelPath, options = {}) {
      await assertModelFileExists(modelPath);
      const requested = options.executionProvider ?? 'auto';
      const available = new Set(listSupported().map((b) => b.name));
      const notes: string[] = [];
      const failedHere: [ExecutionProvider, string][] = [];

      const candidates = requested === 'auto' ? EXECUTION_PROVIDER_PREFERENCE : [requested, 'cpu' as const];
      for (const provider of [...new Set(candidates)]) {
        const label = PROVIDER_LABELS[provider];
        const subject = requested === provider ? `${label} requested but` : `${label}`;
        if (provider !== 'cpu') {
          if (!available.has(provider)) {
            // In auto mode a provider this build never had is not news; a requested one is.
            if (requested === provider) notes.push(`${subject} not available in this onnxruntime-node build`);
            continue;
          }
          const known = brokenProviders.get(provider);
          if (known !== undefined) {
            notes.push(`${subject} unusable on this machine (${known})`);
            continue;
          }
        }
        try {
          const session = await ort.InferenceSession.create(modelPath, sessionOptionsFor(provider, options.threads));
          for (const [p, why] of failedHere) brokenProviders.set(p, why);
          const fallbackReason = notes.length > 0 ? `${notes.join('; ')} → ${label}` : null;
          return wrapSession(session, modelPath, provider, fallbackReason);
        } catch (error) {
          if (provider === 'cpu') throw modelLoadError(modelPath, error);
          const why = providerFailure(error);
          failedHere.push([provider, why]);
          notes.push(`${subject} could not create a session (${why})`);
        }
      }
      // Unreachable: CPU is always the last candidate and either returns or throws.
      throw new AppError('internal', `No execution provider was tried for ${modelPath}`);
    },
  };
}

function sessionOptionsFor(provider: ExecutionProvider, threads: number | undefined): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // DirectML supports neither memory patterns nor parallel execution (reference §6.1).
    enableMemPattern: provider !== 'dml',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
  };
}

async function assertModelFileExists(modelPath: string): Promise<void> {
  const info = await stat(modelPath).catch(() => null);
  if (info === null || !info.isFile()) {
    throw new AppError('model_invalid', `Model file not found: ${modelPath}`, {
      hint: 'The model folder is incomplete. Download or export it again; every component folder needs its model.onnx.',
    });
  }
}

function modelLoadError(modelPath: string, error: unknown): AppError {
  return new AppError('model_invalid', `Could not load ${modelPath}: ${firstLine(error)}`, {
    hint:
      'The file is damaged, truncated, or not an ONNX model (or its external weights file is missing). ' +
      'Download or export the model folder again and keep each component folder intact.',
    cause: error,
  });
}

/**
 * Why a GPU provider would not start, in words a user can act on. ONNX Runtime's own messages
 * lead with source paths and assertion text; the known cases get a plain sentence.
 */
function providerFailure(error: unknown): string {
  const line = firstLine(error);
  if (/Failed to load (shared )?library/i.test(line)) return 'its runtime libraries (e.g. CUDA/cuDNN) are not installed';
  if (/RequestAdapterStatus|adapter_result/.test(line)) return 'no WebGPU adapter (GPU driver / Vulkan) was found';
  return line.replace(/^\/onnxruntime_src\/\S+:\d+\s+/, '');
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 240 ? `${line.slice(0, 237)}...` : line.trim();
}

function wrapSession(
  session: ort.InferenceSession,
  modelPath: string,
  executionProvider: ExecutionProvider,
  fallbackReason: string | null,
): ModelSession {
  const inputs = session.inputMetadata.map((m) => describeValue(m, modelPath));
  const outputs = session.outputMetadata.map((m) => describeValue(m, modelPath));
  const inputByName = new Map(inputs.map((i) => [i.name, i]));

  return {
    modelPath,
    executionProvider,
    fallbackReason,
    inputs,
    outputs,

    async run(feeds, outputNames) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) {
        const info = inputByName.get(name);
        if (info === undefined) {
          throw new AppError('internal', `${modelPath} has no input "${name}" (inputs: ${[...inputByName.keys()].join(', ')})`);
        }
        if (info.dtype !== tensor.dtype) {
          throw new AppError('internal', `${modelPath} expects ${name} as ${info.dtype}, got ${tensor.dtype}`);
        }
        ortFeeds[name] = toOrtTensor(tensor);
      }
      const missing = inputs.filter((i) => !(i.name in ortFeeds)).map((i) => i.name);
      if (missing.length > 0) throw new AppError('internal', `${modelPath} run is missing inputs: ${missing.join(', ')}`);

      const results = outputNames === undefined ? await session.run(ortFeeds) : await session.run(ortFeeds, [...outputNames]);
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(value, name, modelPath);
      return out;
    },

    release: () => session.release(),
  };
}

function describeValue(meta: ort.InferenceSession.ValueMetadata, modelPath: string): TensorInfo {
  if (!meta.isTensor) {
    throw new AppError('model_invalid', `${modelPath}: "${meta.name}" is not a tensor; this is not a Stable Diffusion export`, {
      hint: 'Use a diffusers/Optimum ONNX export of the model.',
    });
  }
  return { name: meta.name, dtype: meta.type, shape: [...meta.shape] };
}

function toOrtTensor(tensor: Tensor): ort.Tensor {
  // onnxruntime-common accepts Uint16Array for float16 and reinterprets it as Float16Array when the
  // runtime has one, so the raw bits go through unchanged either way.
  return new ort.Tensor(tensor.dtype, tensor.data, [...tensor.dims]);
}

function fromOrtTensor(value: ort.OnnxValue, name: string, modelPath: string): Tensor {
  const dims = [...value.dims];
  const data: unknown = value.data;
  switch (value.type) {
    case 'float32':
      if (data instanceof Float32Array) return { dtype: 'float32', data, dims };
      break;
    case 'float16':
      // Newer runtimes hand out Float16Array; keep our representation (raw bits) stable.
      if (data instanceof Uint16Array) return { dtype: 'float16', data, dims };
      if (ArrayBuffer.isView(data) && data.byteLength === value.size * 2) {
        return { dtype: 'float16', data: new Uint16Array(data.buffer, data.byteOffset, value.size), dims };
      }
      break;
    case 'int32':
      if (data instanceof Int32Array) return { dtype: 'int32', data, dims };
      break;
    case 'int64':
      if (data instanceof BigInt64Array) return { dtype: 'int64', data, dims };
      break;
    default:
      break;
  }
  throw new AppError('model_invalid', `${modelPath}: output "${name}" has unsupported type ${value.type}`, {
    hint: 'Stable Diffusion exports produce float32 or float16 outputs; re-export the model with Optimum.',
  });
}
