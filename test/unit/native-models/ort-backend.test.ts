import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import {
  createOrtBackend,
  float16BitsToFloat32,
  float16Tensor,
  float32Tensor,
  float32ToFloat16Bits,
  int64Tensor,
  listExecutionProviders,
  tensorForInput,
  tensorToFloat32,
  type ModelSession,
  type Tensor,
} from '../../../native-models/src/backend/ort.js';
import { float16ToFloat32, float32ToFloat16 } from '../../../native-models/src/backend/float16.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';

let models = '';
beforeAll(() => {
  models = tinyModelsDir();
});

const unetOf = (folder: string) => path.join(models, folder, 'unet', 'model.onnx');

/** Deterministic pseudo-random floats in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function sdTurboUnetFeeds(session: ModelSession, t: number): Record<string, Tensor> {
  const byName = new Map(session.inputs.map((i) => [i.name, i]));
  const input = (name: string) => {
    const info = byName.get(name);
    if (info === undefined) throw new Error(`no input ${name}`);
    return info;
  };
  const timestepRank = input('timestep').shape.length;
  return {
    sample: tensorForInput(input('sample'), values(4 * 8 * 8, 1), [1, 4, 8, 8]),
    timestep: tensorForInput(input('timestep'), [t], timestepRank === 0 ? [] : [1]),
    encoder_hidden_states: tensorForInput(input('encoder_hidden_states'), values(77 * 1024, 2), [1, 77, 1024]),
  };
}

describe('float16 conversion', () => {
  it('encodes known values, ties to even, subnormals and overflow exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest half
      [65519.99, 0x7bff],
      [65520, 0x7c00], // halfway to 65536: ties to even = Infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway to it: ties to even = 0
      [3 * 2 ** -26, 0x0001],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1+2^-10: even mantissa wins
      [1 + 3 * 2 ** -11, 0x3c02],
      [0.1, 0x2e66],
      [999, 0x63ce],
    ];
    for (const [value, bits] of cases) expect([value, float32ToFloat16(value)]).toEqual([value, bits]);
    expect(float32ToFloat16(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16(Number.NaN) & 0x3ff).not.toBe(0);
  });

  it('round-trips every finite half bit pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // Inf/NaN
      expect(float32ToFloat16(float16ToFloat32(h))).toBe(h);
    }
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const decoded = float16BitsToFloat32(all);
    expect(decoded[0x3c00]).toBe(1);
    expect(Number.isNaN(decoded[0x7e00])).toBe(true);
  });

  it('picks the nearest half for arbitrary floats, ties to even', () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const wrong: string[] = [];
    let s = 12345;
    for (let i = 0; i < 200_000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      // exponents from 2^-30 to 2^17 cover zero-rounding, subnormals, normals and overflow
      u32[0] = (s & 0x807fffff) | ((((s >>> 23) % 48) + 97) << 23);
      const x = f32[0] ?? 0;
      const h = float32ToFloat16(x);
      if (Math.abs(x) >= 65520) {
        if ((h & 0x7fff) !== 0x7c00) wrong.push(`${x} -> ${h.toString(16)} (want Infinity)`);
        continue;
      }
      const here = Math.abs(float16ToFloat32(h) - x);
      for (const neighbour of [h - 1, h + 1]) {
        if (neighbour < 0 || neighbour > 0xffff || (neighbour & 0x7fff) >= 0x7c00) continue;
        const there = Math.abs(float16ToFloat32(neighbour) - x);
        if (here > there || (here === there && (h & 1) === 1)) wrong.push(`${x} -> ${h.toString(16)}, ${neighbour.toString(16)} is nearer or even`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps float16 tensors as raw bits both ways', () => {
    const bits = float32ToFloat16Bits([1, -2, 0.5]);
    expect(Array.from(bits)).toEqual([0x3c00, 0xc000, 0x3800]);
    expect(Array.from(tensorToFloat32(float16Tensor(bits, [3])))).toEqual([1, -2, 0.5]);
  });
});

describe('tensor helpers', () => {
  it('casts plain numbers to what an input declares', () => {
    const ids = tensorForInput({ name: 'input_ids', dtype: 'int64', shape: ['batch_size', 'sequence_length'] }, [49406, 0], [1, 2]);
    expect(ids.dtype).toBe('int64');
    expect(Array.from(ids.data as BigInt64Array)).toEqual([49406n, 0n]);
    const ids32 = tensorForInput({ name: 'input_ids', dtype: 'int32', shape: [] }, [49407], [1, 1]);
    expect(ids32.data).toBeInstanceOf(Int32Array);
    const t16 = tensorForInput({ name: 'timestep', dtype: 'float16', shape: [] }, [999], []);
    expect(Array.from(t16.data as Uint16Array)).toEqual([0x63ce]);
  });

  it('refuses values an integer tensor cannot hold and data that does not fit the dims', () => {
    expect(() => int64Tensor([957.375], [1])).toThrow(/not an integer/);
    expect(() => float32Tensor(new Float32Array(3), [2, 2])).toThrow(/need 4/);
  });
});

describe('ONNX Runtime backend', () => {
  it('lists the providers of this build, CPU always among them', async () => {
    const backend = createOrtBackend();
    const names = backend.listExecutionProviders().map((p) => p.name);
    expect(names).toContain('cpu');
    expect(await listExecutionProviders()).toEqual(names);
  });

  it('loads a model by path and reports its inputs and outputs with symbolic dims', async () => {
    const backend = createOrtBackend({ listSupportedBackends: () => [{ name: 'cpu', bundled: true }] });
    const session = await backend.createSession(unetOf('sd-turbo'), { threads: 1 });
    try {
      expect(session.executionProvider).toBe('cpu');
      expect(session.fallbackReason).toBeNull();
      expect(session.inputs).toEqual([
        { name: 'sample', dtype: 'float32', shape: ['batch_size', 4, 'height', 'width'] },
        { name: 'timestep', dtype: 'float32', shape: [] },
        { name: 'encoder_hidden_states', dtype: 'float32', shape: ['batch_size', 'sequence_length', 1024] },
      ]);
      expect(session.outputs).toEqual([{ name: 'out_sample', dtype: 'float32', shape: ['batch_size', 4, 'height', 'width'] }]);
      const out = await session.run(sdTurboUnetFeeds(session, 999));
      expect(out.out_sample?.dtype).toBe('float32');
      expect(out.out_sample?.dims).toEqual([1, 4, 8, 8]);
    } finally {
      await session.release();
    }
  });

  it('falls back to CPU with a reason when the requested provider is not in this build', async () => {
    const backend = createOrtBackend({ listSupportedBackends: () => [{ name: 'cpu', bundled: true }] });
    const session = await backend.createSession(unetOf('sd-turbo'), { executionProvider: 'cuda' });
    expect(session.executionProvider).toBe('cpu');
    expect(session.fallbackReason).toBe('CUDA requested but not available in this onnxruntime-node build → CPU');
    await session.release();
  });

  it.skipIf(process.platform === 'win32')('falls back to CPU with ORT’s own words when a listed provider cannot start', async () => {
    // DirectML only exists in Windows builds: listing it here makes session creation itself fail.
    const backend = createOrtBackend({
      listSupportedBackends: () => [
        { name: 'cpu', bundled: true },
        { name: 'dml', bundled: true },
      ],
    });
    const first = await backend.createSession(unetOf('sd-turbo'), { executionProvider: 'dml' });
    expect(first.executionProvider).toBe('cpu');
    expect(first.fallbackReason).toMatch(/^DirectML requested but could not create a session \(.*backend not found.*\) → CPU$/);
    // The failure is remembered, not probed again for the next component.
    const second = await backend.createSession(path.join(models, 'sd-turbo', 'vae_decoder', 'model.onnx'), { executionProvider: 'dml' });
    expect(second.fallbackReason).toMatch(/^DirectML requested but unusable on this machine \(.*\) → CPU$/);
    await Promise.all([first.release(), second.release()]);
  });

  it('asking for CUDA gives CUDA or CPU with a reason, never an error', async () => {
    const session = await createOrtBackend().createSession(unetOf('sd-turbo'), { executionProvider: 'cuda' });
    if (session.executionProvider === 'cuda') {
      expect(session.fallbackReason).toBeNull();
    } else {
      expect(session.executionProvider).toBe('cpu');
      expect(session.fallbackReason).toMatch(/^CUDA requested but (not available in this onnxruntime-node build|could not create a session \(.+\)) → CPU$/);
    }
    await session.release();
  });

  it('runs fp16 exports with Uint16Array bits in and out', async () => {
    const session = await createOrtBackend().createSession(unetOf('sd-turbo-fp16'), { executionProvider: 'cpu' });
    expect(session.inputs.map((i) => i.dtype)).toEqual(['float16', 'float16', 'float16']);
    const out = await session.run(sdTurboUnetFeeds(session, 999));
    expect(out.out_sample?.dtype).toBe('float16');
    expect(out.out_sample?.data).toBeInstanceOf(Uint16Array);
    const fp32 = await createOrtBackend().createSession(unetOf('sd-turbo'), { executionProvider: 'cpu' });
    const ref = await fp32.run(sdTurboUnetFeeds(fp32, 999));
    const a = tensorToFloat32(out.out_sample as Tensor);
    const b = tensorToFloat32(ref.out_sample as Tensor);
    // Same weights rounded to fp16: close, not equal.
    const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? 0))));
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(0.02);
    await Promise.all([session.release(), fp32.release()]);
  });

  it('loads external-data weights by path and computes what the single-file export computes', async () => {
    const backend = createOrtBackend();
    const external = await backend.createSession(unetOf('sd-turbo-external-data'), { executionProvider: 'cpu' });
    const inline = await backend.createSession(unetOf('sd-turbo'), { executionProvider: 'cpu' });
    const a = await external.run(sdTurboUnetFeeds(external, 499));
    const b = await inline.run(sdTurboUnetFeeds(inline, 499));
    expect(Array.from(tensorToFloat32(a.out_sample as Tensor))).toEqual(Array.from(tensorToFloat32(b.out_sample as Tensor)));
    await Promise.all([external.release(), inline.release()]);
  });

  it('names the missing file and says what to do', async () => {
    const missing = path.join(models, 'sd-turbo', 'unet', 'nope.onnx');
    const error = await createOrtBackend().createSession(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('model_invalid');
    expect((error as AppError).message).toContain(missing);
    expect((error as AppError).hint).toMatch(/Download or export it again/);
  });

  it('names a corrupt file and says what to do', async () => {
    const corrupt = unetOf('corrupt');
    const error = await createOrtBackend().createSession(corrupt, { executionProvider: 'cpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('model_invalid');
    expect((error as AppError).message).toContain(`Could not load ${corrupt}`);
    expect((error as AppError).message).toMatch(/Protobuf parsing failed/);
    expect((error as AppError).hint).toMatch(/damaged, truncated/);
  });

  it('names the model whose external weights are missing', async () => {
    const tmp = makeTempDir();
    try {
      const unet = path.join(tmp.dir, 'unet');
      fs.cpSync(path.join(models, 'sd-turbo-external-data', 'unet'), unet, { recursive: true });
      fs.rmSync(path.join(unet, 'model.onnx_data'));
      const error = await createOrtBackend().createSession(path.join(unet, 'model.onnx'), { executionProvider: 'cpu' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).message).toContain(`Could not load ${path.join(unet, 'model.onnx')}`);
      expect((error as AppError).hint).toMatch(/external weights file is missing/);
    } finally {
      tmp.cleanup();
    }
  });

  it('rejects feeds that do not match the model, before ORT sees them', async () => {
    const session = await createOrtBackend().createSession(unetOf('sd-turbo'), { executionProvider: 'cpu' });
    const feeds = sdTurboUnetFeeds(session, 999);
    await expect(session.run({ ...feeds, timestep: int64Tensor([999], []) })).rejects.toThrow(/expects timestep as float32, got int64/);
    const { encoder_hidden_states: _dropped, ...partial } = feeds;
    await expect(session.run(partial)).rejects.toThrow(/missing inputs: encoder_hidden_states/);
    await expect(session.run({ ...feeds, text_embeds: float32Tensor(new Float32Array(1280), [1, 1280]) })).rejects.toThrow(/has no input "text_embeds"/);
    await session.release();
  });
});
