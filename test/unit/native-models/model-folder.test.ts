import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { detectFamily, type FamilySignals } from '../../../native-models/src/models/family.js';
import { readModelFolder } from '../../../native-models/src/models/model-folder.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';

let models = '';
beforeAll(() => {
  models = tinyModelsDir();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A private copy of a generated folder, under a name that says nothing about its family. */
function copyOf(folder: string, as = 'my-model'): string {
  const tmp = makeTempDir();
  cleanups.push(tmp.cleanup);
  const dest = path.join(tmp.dir, as);
  fs.cpSync(path.join(models, folder), dest, { recursive: true });
  return dest;
}

async function loadError(root: string): Promise<AppError> {
  const error = await readModelFolder(root).catch((e: unknown) => e);
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  expect(error.code).toBe('model_invalid');
  return error;
}

describe('readModelFolder on real-shaped exports', () => {
  const cases = [
    { folder: 'sd15', family: 'sd15', turbo: false, size: 512, steps: 50, guidance: 7.5, cfg: true, pads: [49407], scaling: 0.18215, commercial: 'allowed with use restrictions' },
    { folder: 'lcm', family: 'lcm', turbo: false, size: 768, steps: 4, guidance: 8.5, cfg: false, pads: [49407], scaling: 0.18215, commercial: 'allowed with use restrictions' },
    { folder: 'sd-turbo', family: 'sd2', turbo: true, size: 512, steps: 1, guidance: 0, cfg: false, pads: [0], scaling: 0.18215, commercial: 'non-commercial or licensed' },
    { folder: 'sdxl', family: 'sdxl', turbo: false, size: 1024, steps: 50, guidance: 5, cfg: true, pads: [49407, 0], scaling: 0.13025, commercial: 'allowed with use restrictions' },
    { folder: 'sdxl-turbo', family: 'sdxl-turbo', turbo: true, size: 512, steps: 1, guidance: 0, cfg: false, pads: [49407, 0], scaling: 0.13025, commercial: 'non-commercial or licensed' },
    { folder: 'sd-turbo-fp16', family: 'sd2', turbo: true, size: 512, steps: 1, guidance: 0, cfg: false, pads: [0], scaling: 0.18215, commercial: 'non-commercial or licensed' },
    { folder: 'sd15-int32-ids', family: 'sd15', turbo: false, size: 512, steps: 50, guidance: 7.5, cfg: true, pads: [49407], scaling: 0.18215, commercial: 'allowed with use restrictions' },
    { folder: 'sd-turbo-rank1-timestep', family: 'sd2', turbo: true, size: 512, steps: 1, guidance: 0, cfg: false, pads: [0], scaling: 0.18215, commercial: 'non-commercial or licensed' },
    { folder: 'sd-turbo-external-data', family: 'sd2', turbo: true, size: 512, steps: 1, guidance: 0, cfg: false, pads: [0], scaling: 0.18215, commercial: 'non-commercial or licensed' },
  ] as const;

  it.each(cases)('$folder → $family (turbo: $turbo)', async (c) => {
    // The copy is called "my-model": detection must come from the configs, not the folder name.
    const root = copyOf(c.folder);
    const folder = await readModelFolder(root);
    expect(folder.family).toBe(c.family);
    expect(folder.turbo).toBe(c.turbo);
    expect(folder.defaults).toEqual({ width: c.size, height: c.size, steps: c.steps, guidanceScale: c.guidance, classifierFreeGuidance: c.cfg });
    expect(folder.tokenizers.map((t) => t.padTokenId)).toEqual(c.pads);
    expect(folder.tokenizers.every((t) => t.padSource === 'tokenizer files')).toBe(true);
    expect(folder.vaeScalingFactor).toBe(c.scaling);
    expect(folder.licence.commercialUse).toBe(c.commercial);
    expect(folder.textEncoders.map((e) => e.name)).toEqual(c.pads.length === 2 ? ['text_encoder', 'text_encoder_2'] : ['text_encoder']);
    expect(folder.unet.modelPath).toBe(path.join(root, 'unet', 'model.onnx'));
    expect(folder.vaeEncoder?.modelPath).toBe(path.join(root, 'vae_encoder', 'model.onnx'));
    expect(folder.familyEvidence.length).toBeGreaterThan(10);
  });

  it('reads the scheduler, the SDXL VAE flags and the empty-prompt rule', async () => {
    const xl = await readModelFolder(path.join(models, 'sdxl-turbo'));
    expect(xl.scheduler.className).toBe('EulerAncestralDiscreteScheduler');
    expect(xl.scheduler.config.timestep_spacing).toBe('trailing');
    expect(xl.vaeForceUpcast).toBe(true);
    expect(xl.forceZerosForEmptyPrompt).toBe(true);
    expect(xl.familyEvidence).toContain('timestep_spacing = trailing');
    expect(xl.tokenizers.map((t) => t.padToken)).toEqual(['<|endoftext|>', '!']);
    const sd15 = await readModelFolder(path.join(models, 'sd15'));
    expect(sd15.scheduler.className).toBe('PNDMScheduler');
    expect(sd15.vaeForceUpcast).toBe(false);
    expect(sd15.forceZerosForEmptyPrompt).toBe(false);
    expect(sd15.pipelineClass).toBe('StableDiffusionPipeline');
    expect((await readModelFolder(path.join(models, 'sd15-int32-ids'))).pipelineClass).toBe('ORTStableDiffusionPipeline');
  });

  it('lists external weights next to model.onnx', async () => {
    const folder = await readModelFolder(path.join(models, 'sd-turbo-external-data'));
    expect(folder.unet.externalDataFiles).toEqual(['model.onnx_data']);
    expect(folder.vaeDecoder.externalDataFiles).toEqual([]);
  });

  it('falls back to the family pad id when the tokenizer files do not name one', async () => {
    const root = copyOf('sdxl');
    for (const dir of ['tokenizer', 'tokenizer_2']) {
      fs.rmSync(path.join(root, dir, 'special_tokens_map.json'));
      fs.rmSync(path.join(root, dir, 'tokenizer_config.json'));
    }
    const folder = await readModelFolder(root);
    expect(folder.tokenizers.map((t) => [t.padToken, t.padTokenId, t.padSource])).toEqual([
      ['<|endoftext|>', 49407, 'family default'],
      ['!', 0, 'family default'],
    ]);
  });

  it('uses the AutoencoderKL default scaling factor when an old VAE config omits it', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(models, 'sd15', 'vae_decoder', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).not.toHaveProperty('scaling_factor');
    expect((await readModelFolder(path.join(models, 'sd15'))).vaeScalingFactor).toBe(0.18215);
  });
});

describe('readModelFolder errors name the file and what to do', () => {
  it('a truncated UNet', async () => {
    const error = await loadError(path.join(models, 'corrupt'));
    expect(error.message).toMatch(/^unet\/model\.onnx in .*corrupt is truncated: it has \d+ bytes but its contents need at least \d+$/);
    expect(error.hint).toMatch(/interrupted download/);
  });

  it('a missing component model', async () => {
    const root = copyOf('sd-turbo');
    fs.rmSync(path.join(root, 'vae_decoder', 'model.onnx'));
    expect((await loadError(root)).message).toBe(`vae_decoder/model.onnx is missing in ${root}`);
  });

  it('a missing second text encoder file in an SDXL folder', async () => {
    const root = copyOf('sdxl');
    fs.rmSync(path.join(root, 'tokenizer_2', 'merges.txt'));
    expect((await loadError(root)).message).toBe(`tokenizer_2/merges.txt is missing in ${root}`);
  });

  it('an empty model file', async () => {
    const root = copyOf('sd15');
    fs.writeFileSync(path.join(root, 'text_encoder', 'model.onnx'), '');
    expect((await loadError(root)).message).toBe(`text_encoder/model.onnx in ${root} is empty`);
  });

  it('a file that is not ONNX at all', async () => {
    const root = copyOf('sd15');
    fs.writeFileSync(path.join(root, 'unet', 'model.onnx'), '<html>404 Not Found</html>');
    expect((await loadError(root)).message).toMatch(/^unet\/model\.onnx in .* is (not an ONNX model|truncated)/);
  });

  it('a missing or broken config', async () => {
    const root = copyOf('sd15');
    fs.writeFileSync(path.join(root, 'unet', 'config.json'), '{ "cross_attention_dim": ');
    expect((await loadError(root)).message).toBe(`${path.join(root, 'unet', 'config.json')} is not valid JSON`);
    fs.writeFileSync(path.join(root, 'unet', 'config.json'), '{ "cross_attention_dim": "768" }');
    expect((await loadError(root)).message).toMatch(/unet\/config\.json: cross_attention_dim: /);
    fs.rmSync(path.join(root, 'scheduler', 'scheduler_config.json'));
    fs.writeFileSync(path.join(root, 'unet', 'config.json'), '{ "cross_attention_dim": 768 }');
    expect((await loadError(root)).message).toBe(`scheduler/scheduler_config.json is missing in ${root}`);
  });

  it('not a model folder, or one ORT cannot run', async () => {
    const root = copyOf('sd15');
    expect((await loadError(path.join(root, 'unet'))).message).toMatch(/model_index\.json is missing, so this is not a diffusers\/Optimum ONNX export$/);
    fs.writeFileSync(path.join(root, 'model_index.json'), JSON.stringify({ _class_name: 'OVStableDiffusionPipeline' }));
    expect((await loadError(root)).message).toMatch(/OpenVINO\/Neuron pipeline/);
    expect((await loadError(path.join(root, 'nope'))).message).toMatch(/^Model folder not found/);
  });

  it('an inpainting UNet', async () => {
    const root = copyOf('sd15');
    const cfgPath = path.join(root, 'unet', 'config.json');
    fs.writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgPath, 'utf8')), in_channels: 9 }));
    expect((await loadError(root)).message).toMatch(/in_channels 9; only text-to-image UNets/);
  });
});

describe('detectFamily (reference §1.3)', () => {
  const base: FamilySignals = {
    crossAttentionDim: 1024,
    timeCondProjDim: null,
    additionEmbedType: null,
    projectionClassEmbeddingsInputDim: null,
    unetSampleSize: 64,
    timestepSpacing: null,
    hasSecondTextEncoder: false,
    nameOrPath: null,
  };
  const xl: FamilySignals = { ...base, crossAttentionDim: 2048, additionEmbedType: 'text_time', projectionClassEmbeddingsInputDim: 2816, hasSecondTextEncoder: true };

  it('SD 2.1-base and SD-Turbo differ only by scheduler spacing or a name hint', () => {
    expect(detectFamily(base)).toMatchObject({ family: 'sd2', turbo: false });
    expect(detectFamily({ ...base, timestepSpacing: 'trailing' })).toMatchObject({ family: 'sd2', turbo: true });
    expect(detectFamily({ ...base, nameOrPath: 'stabilityai/sd-turbo' })).toMatchObject({ family: 'sd2', turbo: true });
  });

  it('SDXL base vs Turbo by spacing or the 64-latent UNet', () => {
    expect(detectFamily({ ...xl, unetSampleSize: 128, timestepSpacing: 'leading' })).toMatchObject({ family: 'sdxl', turbo: false });
    expect(detectFamily({ ...xl, unetSampleSize: 128, timestepSpacing: 'trailing' })).toMatchObject({ family: 'sdxl-turbo', turbo: true });
    expect(detectFamily({ ...xl, timestepSpacing: 'leading' })).toMatchObject({ family: 'sdxl-turbo', turbo: true });
  });

  it('time_cond_proj_dim means LCM whatever else the config says', () => {
    expect(detectFamily({ ...base, crossAttentionDim: 768, timeCondProjDim: 256 })).toMatchObject({ family: 'lcm', turbo: false });
  });

  it('refuses refiners and unknown text encoders', () => {
    expect(() => detectFamily({ ...xl, projectionClassEmbeddingsInputDim: 2560 })).toThrow(/refiner/);
    expect(() => detectFamily({ ...xl, hasSecondTextEncoder: false })).toThrow(/refiner/);
    expect(() => detectFamily({ ...base, crossAttentionDim: 4096 })).toThrow(/cross_attention_dim 4096/);
  });
});
