/**
 * The generated tiny model folders against the tensor contracts of the real exports (reference §2)
 * and against the independent numpy reference: same inputs into ONNX Runtime and into
 * reference_pipeline.py must give the same outputs.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrtBackend, tensorForInput, tensorToFloat32, type ModelSession, type Tensor, type TensorInfo } from '../../../native-models/src/backend/ort.js';
import { readModelFolder, type ModelComponent } from '../../../native-models/src/models/model-folder.js';
import { referenceComponents, tinyModelsDir, type ReferenceComponentRequest, type ReferenceDType } from '../../helpers/tiny-models.js';

let models = '';
const backend = createOrtBackend();
const sessions: ModelSession[] = [];

beforeAll(() => {
  models = tinyModelsDir();
});
afterAll(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.release()));
});

async function open(folder: string, component: string): Promise<ModelSession> {
  const session = await backend.createSession(path.join(models, folder, component, 'model.onnx'), { executionProvider: 'cpu', threads: 1 });
  sessions.push(session);
  return session;
}

async function componentsOf(folder: string): Promise<{ root: string; components: ModelComponent[] }> {
  const model = await readModelFolder(path.join(models, folder));
  return { root: model.root, components: [...model.textEncoders, model.unet, model.vaeDecoder, ...(model.vaeEncoder ? [model.vaeEncoder] : [])] };
}

// ---------------------------------------------------------------------------
// The contracts, written out from reference §2 (not from the generator)
// ---------------------------------------------------------------------------

type Io = [name: string, dtype: string, shape: (number | string)[]];
interface Contract {
  inputs: Io[];
  outputs: Io[];
}

interface Export {
  float: 'float32' | 'float16';
  ids: 'int64' | 'int32';
  timestep: Io;
  vaeEncoderOutput: 'latent_parameters' | 'latent_sample';
}
/** Optimum >= 1.24 / optimum-onnx: int64 ids, float scalar timestep, 8-channel posterior parameters. */
const OPTIMUM: Export = { float: 'float32', ids: 'int64', timestep: ['timestep', 'float32', []], vaeEncoderOutput: 'latent_parameters' };
const OPTIMUM_FP16: Export = { float: 'float16', ids: 'int64', timestep: ['timestep', 'float16', []], vaeEncoderOutput: 'latent_parameters' };
/** Optimum <= 1.22: int32 ids (CLIPTextOnnxConfig cast), int64 [B] timestep, sampled 4-channel latent. */
const OPTIMUM_122: Export = { float: 'float32', ids: 'int32', timestep: ['timestep', 'int64', ['steps']], vaeEncoderOutput: 'latent_sample' };
/** Float [B] timestep, as the diffusers legacy script and the ORT demo engines export it. */
const RANK1_TIMESTEP: Export = { ...OPTIMUM, timestep: ['timestep', 'float32', ['steps']] };

interface Family {
  cross: number;
  sdxl: boolean;
  lcm: boolean;
}
const SD15: Family = { cross: 768, sdxl: false, lcm: false };
const LCM: Family = { cross: 768, sdxl: false, lcm: true };
const SD2: Family = { cross: 1024, sdxl: false, lcm: false };
const SDXL: Family = { cross: 2048, sdxl: true, lcm: false };

const FOLDERS: Record<string, [Family, Export]> = {
  sd15: [SD15, OPTIMUM],
  lcm: [LCM, OPTIMUM],
  'sd-turbo': [SD2, OPTIMUM],
  sdxl: [SDXL, OPTIMUM],
  'sdxl-turbo': [SDXL, OPTIMUM],
  'sd-turbo-fp16': [SD2, OPTIMUM_FP16],
  'sd15-int32-ids': [SD15, OPTIMUM_122],
  'sd-turbo-rank1-timestep': [SD2, RANK1_TIMESTEP],
  'sd-turbo-external-data': [SD2, OPTIMUM],
};

function folderSpec(folder: string): [Family, Export] {
  const spec = FOLDERS[folder];
  if (spec === undefined) throw new Error(`unknown folder ${folder}`);
  return spec;
}

const hiddenStates = (n: number, width: number, f: string): Io[] =>
  Array.from({ length: n + 1 }, (_, k): Io => [`hidden_states.${k}`, f, ['batch_size', 'sequence_length', width]]);

function contracts(fam: Family, ex: Export): Record<string, Contract> {
  const f = ex.float;
  const ids: Io = ['input_ids', ex.ids, ['batch_size', 'sequence_length']];
  const out: Record<string, Contract> = {};
  if (fam.sdxl) {
    // Optimum output order: enc1 last_hidden_state, pooler_output, hidden_states.*; enc2 text_embeds first.
    out.text_encoder = {
      inputs: [ids],
      outputs: [['last_hidden_state', f, ['batch_size', 'sequence_length', 768]], ['pooler_output', f, ['batch_size', 768]], ...hiddenStates(12, 768, f)],
    };
    out.text_encoder_2 = {
      inputs: [ids],
      outputs: [['text_embeds', f, ['batch_size', 1280]], ['last_hidden_state', f, ['batch_size', 'sequence_length', 1280]], ...hiddenStates(32, 1280, f)],
    };
  } else {
    out.text_encoder = {
      inputs: [ids],
      outputs: [['last_hidden_state', f, ['batch_size', 'sequence_length', fam.cross]], ['pooler_output', f, ['batch_size', fam.cross]]],
    };
  }
  out.unet = {
    inputs: [
      ['sample', f, ['batch_size', 4, 'height', 'width']],
      ex.timestep,
      ['encoder_hidden_states', f, ['batch_size', 'sequence_length', fam.cross]],
      ...(fam.sdxl ? ([['text_embeds', f, ['batch_size', 1280]], ['time_ids', f, ['batch_size', 6]]] as Io[]) : []),
      ...(fam.lcm ? ([['timestep_cond', f, ['batch_size', 256]]] as Io[]) : []),
    ],
    outputs: [['out_sample', f, ['batch_size', 4, 'height', 'width']]],
  };
  out.vae_decoder = {
    inputs: [['latent_sample', f, ['batch_size', 4, 'height_latent', 'width_latent']]],
    outputs: [['sample', f, ['batch_size', 3, 'height', 'width']]],
  };
  out.vae_encoder = {
    inputs: [['sample', f, ['batch_size', 3, 'height', 'width']]],
    outputs: [[ex.vaeEncoderOutput, f, ['batch_size', ex.vaeEncoderOutput === 'latent_parameters' ? 8 : 4, 'height_latent', 'width_latent']]],
  };
  return out;
}

const asIo = (infos: readonly TensorInfo[]): Io[] => infos.map((i) => [i.name, i.dtype, [...i.shape]]);

// ---------------------------------------------------------------------------
// Inputs: deterministic, real-shaped
// ---------------------------------------------------------------------------

const PROMPT = [49406, 320, 1125, 539, 320, 2368, 49407]; // "a photo of a cat"
const padded = (pad: number) => [...PROMPT, ...Array<number>(77 - PROMPT.length).fill(pad)];

function noise(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 31 - 1) * scale;
  });
}

interface Feed {
  values: number[];
  dims: number[];
}

/** The values each input gets, by name; dims for batch `b` and an 8×8 latent (64×64 px). */
function feedValues(info: TensorInfo, b: number, t: number, cross: number): Feed {
  switch (info.name) {
    case 'input_ids':
      return { values: Array.from({ length: b }, (_, i) => padded(i === 0 ? 49407 : 0)).flat(), dims: [b, 77] };
    case 'sample':
      return info.shape[1] === 4 ? { values: noise(b * 4 * 64, 1), dims: [b, 4, 8, 8] } : { values: noise(b * 3 * 64 * 64, 2), dims: [b, 3, 64, 64] };
    case 'timestep':
      return info.shape.length === 0 ? { values: [t], dims: [] } : { values: Array<number>(b).fill(t), dims: [b] };
    case 'encoder_hidden_states':
      return { values: noise(b * 77 * cross, 3), dims: [b, 77, cross] };
    case 'text_embeds':
      return { values: noise(b * 1280, 4), dims: [b, 1280] };
    case 'time_ids':
      return { values: Array.from({ length: b }, () => [64, 64, 0, 0, 64, 64]).flat(), dims: [b, 6] };
    case 'timestep_cond':
      return { values: noise(b * 256, 5), dims: [b, 256] };
    case 'latent_sample':
      return { values: noise(b * 4 * 64, 6, 4), dims: [b, 4, 8, 8] };
    default:
      throw new Error(`no test values for input ${info.name}`);
  }
}

function feedsFor(session: ModelSession, b: number, t: number, cross: number, override: Record<string, Feed> = {}) {
  const ort: Record<string, Tensor> = {};
  const ref: Record<string, { dtype: ReferenceDType; dims: number[]; data: number[] }> = {};
  for (const info of session.inputs) {
    const feed = override[info.name] ?? feedValues(info, b, t, cross);
    ort[info.name] = tensorForInput(info, feed.values, feed.dims);
    ref[info.name] = { dtype: info.dtype as ReferenceDType, dims: feed.dims, data: feed.values };
  }
  return { ort, ref };
}

async function outSample(unet: ModelSession, feeds: Record<string, Tensor>): Promise<Float32Array> {
  const out = (await unet.run(feeds)).out_sample;
  if (out === undefined) throw new Error('no out_sample');
  return tensorToFloat32(out);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), 0);

/**
 * fp32: the brief's 1e-4. fp16: both sides compute in float32 (within that 1e-4) and round to
 * half, which can add up to one half-precision step at the value's magnitude.
 */
const FLOAT32_TOLERANCE = 1e-4;

function compare(name: string, actual: Tensor, expected: { dims: number[]; data: number[] }): void {
  expect([name, actual.dims]).toEqual([name, expected.dims]);
  const a = tensorToFloat32(actual);
  const beyond: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? Number.NaN;
    const y = expected.data[i] ?? Number.NaN;
    const allowed = FLOAT32_TOLERANCE + (actual.dtype === 'float16' ? float16Ulp(Math.max(Math.abs(x), Math.abs(y))) : 0);
    if (!(Math.abs(x - y) <= allowed) && beyond.length < 5) beyond.push(`[${i}] ort ${x} vs numpy ${y}`);
  }
  expect([name, beyond]).toEqual([name, []]);
}

function float16Ulp(x: number): number {
  if (x < 2 ** -14) return 2 ** -24;
  return 2 ** (Math.floor(Math.log2(x)) - 10);
}

// A subset of the 33 hidden states keeps the JSON small; the penultimate ones are what SDXL uses.
const COMPARED_OUTPUTS: Record<string, string[]> = {
  text_encoder: ['last_hidden_state', 'pooler_output', 'hidden_states.0', 'hidden_states.11', 'hidden_states.12'],
  text_encoder_2: ['text_embeds', 'last_hidden_state', 'hidden_states.0', 'hidden_states.31', 'hidden_states.32'],
};

// ---------------------------------------------------------------------------

describe('tiny model folders', () => {
  it.each(Object.keys(FOLDERS))('%s: every component has the I/O names, dtypes and ranks of the real export', async (folder) => {
    const expected = contracts(...folderSpec(folder));
    const { components } = await componentsOf(folder);
    expect(components.map((c) => c.name).sort()).toEqual(Object.keys(expected).sort());
    for (const component of components) {
      const session = await open(folder, component.name);
      expect({ component: component.name, inputs: asIo(session.inputs), outputs: asIo(session.outputs) }).toEqual({
        component: component.name,
        ...expected[component.name],
      });
    }
  });

  it.each(Object.keys(FOLDERS))('%s: ONNX Runtime and the numpy reference agree on every component', async (folder) => {
    const [fam] = folderSpec(folder);
    const { root, components } = await componentsOf(folder);
    const ortOutputs: Record<string, Tensor>[] = [];
    const requests: ReferenceComponentRequest[] = [];
    for (const component of components) {
      const session = await open(folder, component.name);
      const feeds = feedsFor(session, 1, 999, fam.cross);
      const wanted = fam.sdxl ? (COMPARED_OUTPUTS[component.name] ?? session.outputs.map((o) => o.name)) : session.outputs.map((o) => o.name);
      ortOutputs.push(await session.run(feeds.ort, wanted));
      requests.push({ model_dir: root, component: component.name, inputs: feeds.ref, outputs: wanted });
    }
    const reference = referenceComponents(requests);
    components.forEach((component, i) => {
      const expected = Object.entries(reference[i]?.outputs ?? {});
      expect(expected.length).toBeGreaterThan(0);
      for (const [name, values] of expected) {
        const actual = ortOutputs[i]?.[name];
        if (actual === undefined) throw new Error(`${component.name} produced no ${name}`);
        compare(`${folder}/${component.name}/${name}`, actual, values);
      }
    });
  });

  it('one UNet step runs in every variant, each fed the way its signature asks', async () => {
    for (const folder of ['sd-turbo-fp16', 'sd15-int32-ids', 'sd-turbo-rank1-timestep', 'sd-turbo-external-data']) {
      const [fam] = folderSpec(folder);
      const unet = await open(folder, 'unet');
      const out = await unet.run(feedsFor(unet, 1, 999, fam.cross).ort);
      expect([folder, out.out_sample?.dims]).toEqual([folder, [1, 4, 8, 8]]);
    }
  });

  it('variants share their base weights: scalar vs [B] timestep and int64 vs int32 ids give identical numbers', async () => {
    const scalar = await open('sd-turbo', 'unet');
    const rank1 = await open('sd-turbo-rank1-timestep', 'unet');
    const a = await outSample(scalar, feedsFor(scalar, 1, 749, 1024).ort);
    const b = await outSample(rank1, feedsFor(rank1, 1, 749, 1024).ort);
    expect(Array.from(b)).toEqual(Array.from(a));

    const ids64 = await open('sd15', 'text_encoder');
    const ids32 = await open('sd15-int32-ids', 'text_encoder');
    const c = (await ids64.run(feedsFor(ids64, 1, 0, 768).ort)).last_hidden_state;
    const d = (await ids32.run(feedsFor(ids32, 1, 0, 768).ort)).last_hidden_state;
    if (c === undefined || d === undefined) throw new Error('no last_hidden_state');
    expect(Array.from(tensorToFloat32(d))).toEqual(Array.from(tensorToFloat32(c)));
  });

  it('a scalar timestep serves the whole batch: batch 2 equals two batch-1 runs', async () => {
    const unet = await open('sd-turbo', 'unet');
    const both = await outSample(unet, feedsFor(unet, 2, 999, 1024).ort);
    const x = noise(2 * 256, 1);
    const e = noise(2 * 77 * 1024, 3);
    for (const i of [0, 1]) {
      const one = await outSample(
        unet,
        feedsFor(unet, 1, 999, 1024, {
          sample: { values: x.slice(i * 256, (i + 1) * 256), dims: [1, 4, 8, 8] },
          encoder_hidden_states: { values: e.slice(i * 77 * 1024, (i + 1) * 77 * 1024), dims: [1, 77, 1024] },
        }).ort,
      );
      expect(maxAbsDiff(one, both.subarray(i * 256, (i + 1) * 256))).toBeLessThan(1e-5);
    }
  });

  it('every UNet input moves the output well past the cross-check tolerance', async () => {
    // A wiring mistake (the wrong text state, an off-by-one timestep, unscaled time ids) must not
    // hide inside FLOAT32_TOLERANCE: demand ten times that.
    const mistakes: Record<string, (feed: Feed) => Feed> = {
      timestep: (f) => ({ ...f, values: f.values.map((t) => t - 1) }),
      time_ids: (f) => ({ ...f, values: f.values.map((v, i) => (i === 5 ? v * 2 : v)) }),
    };
    const cases: [string, number][] = [
      ['sdxl-turbo', 2048],
      ['lcm', 768],
      ['sd-turbo', 1024],
    ];
    for (const [folder, cross] of cases) {
      const unet = await open(folder, 'unet');
      const base = await outSample(unet, feedsFor(unet, 1, 999, cross).ort);
      for (const info of unet.inputs) {
        const feed = feedValues(info, 1, 999, cross);
        const wrong = mistakes[info.name]?.(feed) ?? { ...feed, values: noise(feed.values.length, 77) };
        const out = await outSample(unet, feedsFor(unet, 1, 999, cross, { [info.name]: wrong }).ort);
        expect([folder, info.name, maxAbsDiff(out, base) > 10 * FLOAT32_TOLERANCE]).toEqual([folder, info.name, true]);
      }
    }
  });
});
