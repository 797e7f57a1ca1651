/**
 * Plain CPU tensors as the rest of native-models sees them, and helpers that build what a session
 * input declares from plain numbers. No ONNX Runtime here: backend/ort.ts converts at the border.
 */
import { AppError } from '../../../src/contract/errors.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';

export type TensorDType = 'float32' | 'float16' | 'int32' | 'int64';

/** A CPU tensor. float16 data is raw IEEE half bits (see float16.ts); int64 is BigInt. */
export type Tensor =
  | { readonly dtype: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly dtype: 'float16'; readonly data: Uint16Array; readonly dims: readonly number[] }
  | { readonly dtype: 'int32'; readonly data: Int32Array; readonly dims: readonly number[] }
  | { readonly dtype: 'int64'; readonly data: BigInt64Array; readonly dims: readonly number[] };

/** Element types an ONNX model may declare (onnxruntime's Tensor.Type). */
export type ValueType =
  | TensorDType
  | 'float64'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'uint64'
  | 'uint4'
  | 'int4'
  | 'bool'
  | 'string';

/** A model input or output as the session declares it; symbolic dims (e.g. "batch_size") are strings. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: ValueType;
  readonly shape: readonly (number | string)[];
}

export function float32Tensor(data: Float32Array, dims: readonly number[]): Tensor {
  checkSize(data.length, dims);
  return { dtype: 'float32', data, dims: [...dims] };
}

export function float16Tensor(bits: Uint16Array, dims: readonly number[]): Tensor {
  checkSize(bits.length, dims);
  return { dtype: 'float16', data: bits, dims: [...dims] };
}

export function int32Tensor(data: Int32Array | readonly number[], dims: readonly number[]): Tensor {
  const values = data instanceof Int32Array ? data : Int32Array.from(data, (v) => checkedInteger(v, -(2 ** 31), 2 ** 31 - 1));
  checkSize(values.length, dims);
  return { dtype: 'int32', data: values, dims: [...dims] };
}

export function int64Tensor(data: BigInt64Array | readonly number[], dims: readonly number[]): Tensor {
  const values =
    data instanceof BigInt64Array
      ? data
      : BigInt64Array.from(data, (v) => BigInt(checkedInteger(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)));
  checkSize(values.length, dims);
  return { dtype: 'int64', data: values, dims: [...dims] };
}

/**
 * Casts values to the dtype an input declares (token ids to int32/int64, latents and timesteps
 * to float32/float16), as Optimum's pipelines do before every run.
 */
export function tensorForInput(info: TensorInfo, values: Float32Array | readonly number[], dims: readonly number[]): Tensor {
  switch (info.dtype) {
    case 'float32':
      return float32Tensor(values instanceof Float32Array ? values : Float32Array.from(values), dims);
    case 'float16':
      return float16Tensor(float32ToFloat16Bits(values), dims);
    case 'int32':
      return int32Tensor(Array.from(values), dims);
    case 'int64':
      return int64Tensor(Array.from(values), dims);
    default:
      throw new AppError('model_invalid', `Input "${info.name}" has unsupported type ${info.dtype}`, {
        hint: 'Stable Diffusion exports take float32/float16 tensors and int32/int64 token ids; re-export the model with Optimum.',
      });
  }
}

/** Float values of a float32 or float16 tensor (a copy for float16, the same array for float32). */
export function tensorToFloat32(tensor: Tensor): Float32Array {
  if (tensor.dtype === 'float32') return tensor.data;
  if (tensor.dtype === 'float16') return float16BitsToFloat32(tensor.data);
  throw new AppError('internal', `Expected a float tensor, got ${tensor.dtype}`);
}

function checkSize(length: number, dims: readonly number[]): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (length !== expected) throw new AppError('internal', `Tensor data has ${length} values but dims [${dims.join(', ')}] need ${expected}`);
}

function checkedInteger(value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AppError('internal', `${value} is not an integer in [${min}, ${max}]; cannot store it in an integer tensor`);
  }
  return value;
}
