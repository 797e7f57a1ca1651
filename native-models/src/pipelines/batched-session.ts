/**
 * Feeding a session what it declares, whatever the exporter: values are cast to each input's
 * dtype (fp16 bits, int32/int64 ids and timesteps; reference §2.1), a batch is split into several
 * runs when the export fixes a smaller batch dimension (SD with CFG on a batch-1 export runs twice
 * per step instead of once with a batch of 2), and fixed dims that do not match are reported
 * before ONNX Runtime fails on them with a shape error nobody can act on.
 */
import { AppError } from '../../../src/contract/errors.js';
import { tensorForInput, tensorToFloat32, type ModelSession, type Tensor, type TensorInfo } from '../backend/ort.js';

/** A feed as plain values: `dims[0]` is the batch for batched inputs; `[]` is a scalar. */
export interface FeedValue {
  readonly values: Float32Array | readonly number[];
  readonly dims: readonly number[];
}

export interface OutputValue {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export class BatchedSession {
  readonly chunk: number;
  private readonly infos: ReadonlyMap<string, TensorInfo>;
  /** Constant inputs, already cast and split per chunk (the UNet's text conditioning, for every step). */
  private readonly constantChunks: Record<string, Tensor>[];

  constructor(
    readonly session: ModelSession,
    readonly component: string,
    readonly batch: number,
    constants: Readonly<Record<string, FeedValue>> = {},
  ) {
    this.infos = new Map(session.inputs.map((i) => [i.name, i]));
    this.chunk = chunkSize(this, batch);
    this.constantChunks = Array.from({ length: batch / this.chunk }, () => ({}));
    for (const [name, feed] of Object.entries(constants)) {
      this.chunkTensors(name, feed).forEach((tensor, c) => (this.constantChunks[c]![name] = tensor));
    }
  }

  /** Whether the session declares this input. */
  has(name: string): boolean {
    return this.infos.has(name);
  }

  input(name: string): TensorInfo {
    const info = this.infos.get(name);
    if (info === undefined) {
      throw new AppError('model_invalid', `${this.component}/model.onnx has no input "${name}" (it has: ${[...this.infos.keys()].join(', ')})`, {
        hint: 'This export does not match its config.json; export the model folder again with Optimum.',
      });
    }
    return info;
  }

  /** Runs every chunk and joins the outputs along the batch axis, as float32. */
  async run(feeds: Readonly<Record<string, FeedValue>>, outputNames: readonly string[]): Promise<Record<string, OutputValue>> {
    const perChunk = this.constantChunks.map((constants) => ({ ...constants }));
    for (const [name, feed] of Object.entries(feeds)) {
      this.chunkTensors(name, feed).forEach((tensor, c) => (perChunk[c]![name] = tensor));
    }
    const parts: Record<string, Tensor>[] = [];
    for (const chunkFeeds of perChunk) parts.push(await this.session.run(chunkFeeds, outputNames));
    const out: Record<string, OutputValue> = {};
    for (const name of outputNames) {
      const pieces = parts.map((p) => p[name]);
      const first = pieces[0];
      if (first === undefined) throw new AppError('model_invalid', `${this.component}/model.onnx did not return "${name}"`);
      if (pieces.length === 1) {
        out[name] = { data: tensorToFloat32(first), dims: first.dims };
        continue;
      }
      const arrays = pieces.map((p) => tensorToFloat32(p!));
      const data = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
      let offset = 0;
      for (const a of arrays) {
        data.set(a, offset);
        offset += a.length;
      }
      out[name] = { data, dims: [this.batch, ...first.dims.slice(1)] };
    }
    return out;
  }

  private chunkTensors(name: string, feed: FeedValue): Tensor[] {
    const info = this.input(name);
    checkFixedDims(this.component, info, feed.dims);
    const chunks = this.batch / this.chunk;
    if (!isBatched(info, feed, this.batch) || chunks === 1) {
      const whole = tensorForInput(info, feed.values, feed.dims);
      return Array.from({ length: chunks }, () => whole);
    }
    const perItem = feed.values.length / this.batch;
    const dims = [this.chunk, ...feed.dims.slice(1)];
    return Array.from({ length: chunks }, (_, c) => {
      const start = c * this.chunk * perItem;
      const end = start + this.chunk * perItem;
      // A copy, not a view: the native binding is not documented to honour a view's byteOffset.
      const slice = feed.values.slice(start, end);
      return tensorForInput(info, slice, dims);
    });
  }
}

/** An input carries the batch when it has a leading axis of that length (a scalar timestep does not). */
function isBatched(info: TensorInfo, feed: FeedValue, batch: number): boolean {
  return info.shape.length > 0 && feed.dims.length > 0 && feed.dims[0] === batch;
}

/** The export's fixed batch size, if any input fixes one; otherwise the whole batch runs at once. */
function chunkSize(runner: BatchedSession, batch: number): number {
  let fixed: number | null = null;
  for (const info of runner.session.inputs) {
    const first = info.shape[0];
    if (info.shape.length === 0 || typeof first !== 'number' || first <= 0) continue;
    if (fixed !== null && fixed !== first) {
      throw new AppError('model_invalid', `${runner.component}/model.onnx fixes different batch sizes (${fixed} and ${first})`, {
        hint: 'Export the model with dynamic batch axes (Optimum does by default).',
      });
    }
    fixed = first;
  }
  if (fixed === null || fixed >= batch) return batch;
  if (batch % fixed !== 0) {
    throw new AppError('invalid_input', `${runner.component}/model.onnx runs batches of exactly ${fixed}; ${batch} does not split into them`, {
      hint: `Use a batch size that is a multiple of ${fixed}.`,
    });
  }
  return fixed;
}

function checkFixedDims(component: string, info: TensorInfo, dims: readonly number[]): void {
  if (info.shape.length !== dims.length) {
    throw new AppError('model_invalid', `${component}/model.onnx takes "${info.name}" with rank ${info.shape.length}, not ${dims.length}`, {
      hint: 'This export differs from the known diffusers/Optimum/Olive layouts; export the model folder again with Optimum.',
    });
  }
  // Axis 0 is the batch, handled by chunking.
  for (let axis = 1; axis < dims.length; axis++) {
    const declared = info.shape[axis];
    if (typeof declared === 'number' && declared > 0 && declared !== dims[axis]) {
      throw new AppError(
        'invalid_input',
        `${component}/model.onnx was exported for "${info.name}" of shape [${info.shape.join(', ')}], but this request needs [${dims.join(', ')}]`,
        { hint: 'This export has a fixed size; request the width and height it was exported for, or re-export with dynamic axes.' },
      );
    }
  }
}
