/**
 * Reads a diffusers/Optimum ONNX model folder (reference §1.1): checks the files a text-to-image
 * run needs, parses model_index.json and the component configs, and says which family it is and
 * what that implies. Only the filesystem and JSON; sessions are created elsewhere (backend/ort.ts),
 * by the paths returned here.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../src/contract/errors.js';
import {
  defaultPadIds,
  defaultsFor,
  detectFamily,
  licenceFor,
  type GenerationDefaults,
  type LicenceNote,
  type ModelFamily,
} from './family.js';
import { checkOnnxFile, type OnnxFileProblem } from './onnx-file.js';

export type ComponentName = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_decoder' | 'vae_encoder';

export interface ModelComponent {
  readonly name: ComponentName;
  /** Load by this path: ORT resolves external weights relative to it (reference §6.3). */
  readonly modelPath: string;
  /** External-data files next to model.onnx (model.onnx_data, model.onnx.data, weights.pb). */
  readonly externalDataFiles: readonly string[];
  /** The component's config.json; null when the export has none. */
  readonly config: Readonly<Record<string, unknown>> | null;
}

export interface TokenizerFiles {
  readonly dir: string;
  readonly vocabPath: string;
  readonly mergesPath: string;
  readonly padToken: string;
  readonly padTokenId: number;
  readonly padSource: 'tokenizer files' | 'family default';
}

export interface ModelFolder {
  readonly root: string;
  readonly pipelineClass: string;
  readonly family: ModelFamily;
  readonly turbo: boolean;
  readonly familyEvidence: string;
  /** [text_encoder] or, for SDXL, [text_encoder, text_encoder_2]; tokenizers in the same order. */
  readonly textEncoders: readonly ModelComponent[];
  readonly tokenizers: readonly TokenizerFiles[];
  readonly unet: ModelComponent;
  readonly vaeDecoder: ModelComponent;
  /** Only image-to-image needs it. */
  readonly vaeEncoder: ModelComponent | null;
  readonly scheduler: { readonly className: string; readonly config: Readonly<Record<string, unknown>> };
  readonly vaeScalingFactor: number;
  /** SDXL's VAE overflows in fp16 (reference §2.3). */
  readonly vaeForceUpcast: boolean;
  /** SDXL: an absent negative prompt means zero embeddings, not the encoded "" (reference §3.2). */
  readonly forceZerosForEmptyPrompt: boolean;
  readonly defaults: GenerationDefaults;
  readonly licence: LicenceNote;
}

const ModelIndexSchema = z.looseObject({
  _class_name: z.string(),
  _name_or_path: z.string().optional(),
  force_zeros_for_empty_prompt: z.boolean().optional(),
});

const UnetConfigSchema = z.looseObject({
  cross_attention_dim: z.number().int(),
  in_channels: z.number().int().optional(),
  time_cond_proj_dim: z.number().int().nullish(),
  addition_embed_type: z.string().nullish(),
  projection_class_embeddings_input_dim: z.number().int().nullish(),
  sample_size: z.number().int().nullish(),
});

const SchedulerConfigSchema = z.looseObject({
  _class_name: z.string(),
  timestep_spacing: z.string().optional(),
});

const VaeConfigSchema = z.looseObject({
  scaling_factor: z.number().positive().optional(),
  force_upcast: z.boolean().optional(),
});

const TokenSchema = z.union([z.string(), z.object({ content: z.string() })]);
const TokenizerConfigSchema = z.looseObject({ pad_token: TokenSchema.nullish() });
const VocabSchema = z.record(z.string(), z.number().int());

const AUTOENCODER_KL_DEFAULT_SCALING = 0.18215; // diffusers' default when an old config omits it
const SDXL_SCALING = 0.13025;
const EXTERNAL_DATA_NAMES = ['model.onnx_data', 'model.onnx.data', 'weights.pb'];
const REEXPORT_HINT = 'Download or export the model folder again (e.g. `optimum-cli export onnx --model <repo id> <folder>`).';

export async function readModelFolder(root: string): Promise<ModelFolder> {
  const rootInfo = await stat(root).catch(() => null);
  if (rootInfo === null || !rootInfo.isDirectory()) {
    throw new AppError('model_invalid', `Model folder not found: ${root}`, { hint: 'Choose the folder that contains model_index.json.' });
  }
  if (!(await isFile(join(root, 'model_index.json')))) {
    throw new AppError('model_invalid', `${join(root, 'model_index.json')} is missing, so this is not a diffusers/Optimum ONNX export`, {
      hint: `Choose the folder that contains model_index.json, unet/ and vae_decoder/. ${REEXPORT_HINT}`,
    });
  }
  const index = await readJson(root, 'model_index.json', ModelIndexSchema);
  if (/^(OV|Neuron)/.test(index._class_name)) {
    throw new AppError('model_invalid', `${index._class_name} is an OpenVINO/Neuron pipeline, which ONNX Runtime cannot run`, {
      hint: `Use an ONNX export of the same model. ${REEXPORT_HINT}`,
    });
  }

  const unet = await readComponent(root, 'unet');
  const unetConfig = await readJson(root, 'unet/config.json', UnetConfigSchema);
  if (unetConfig.in_channels !== undefined && unetConfig.in_channels !== 4) {
    throw new AppError('model_invalid', `unet/config.json has in_channels ${unetConfig.in_channels}; only text-to-image UNets (4 channels) are supported`, {
      hint: 'Inpainting and other conditioned UNets are not supported. Use the base text-to-image model.',
    });
  }
  const schedulerConfig = await readJson(root, 'scheduler/scheduler_config.json', SchedulerConfigSchema);
  const hasSecondEncoder = await isFile(join(root, 'text_encoder_2', 'model.onnx'));

  const detection = detectFamily({
    crossAttentionDim: unetConfig.cross_attention_dim,
    timeCondProjDim: unetConfig.time_cond_proj_dim ?? null,
    additionEmbedType: unetConfig.addition_embed_type ?? null,
    projectionClassEmbeddingsInputDim: unetConfig.projection_class_embeddings_input_dim ?? null,
    unetSampleSize: unetConfig.sample_size ?? null,
    timestepSpacing: schedulerConfig.timestep_spacing ?? null,
    hasSecondTextEncoder: hasSecondEncoder,
    nameOrPath: index._name_or_path ?? null,
  });
  const sdxl = detection.family === 'sdxl' || detection.family === 'sdxl-turbo';

  const encoderNames: readonly ComponentName[] = sdxl ? ['text_encoder', 'text_encoder_2'] : ['text_encoder'];
  const textEncoders = await Promise.all(encoderNames.map((name) => readComponent(root, name)));
  const padDefaults = defaultPadIds(detection.family);
  const tokenizers = await Promise.all(
    (sdxl ? ['tokenizer', 'tokenizer_2'] : ['tokenizer']).map((dir, i) => readTokenizer(root, dir, padDefaults[i] ?? 0)),
  );
  const vaeDecoder = await readComponent(root, 'vae_decoder');
  const vaeEncoder = (await isFile(join(root, 'vae_encoder', 'model.onnx'))) ? await readComponent(root, 'vae_encoder') : null;
  const vaeConfig = vaeDecoder.config === null ? {} : parse(VaeConfigSchema, vaeDecoder.config, join(root, 'vae_decoder/config.json'));

  return {
    root,
    pipelineClass: index._class_name,
    family: detection.family,
    turbo: detection.turbo,
    familyEvidence: detection.evidence,
    textEncoders,
    tokenizers,
    unet,
    vaeDecoder,
    vaeEncoder,
    scheduler: { className: schedulerConfig._class_name, config: schedulerConfig },
    vaeScalingFactor: vaeConfig.scaling_factor ?? (sdxl ? SDXL_SCALING : AUTOENCODER_KL_DEFAULT_SCALING),
    vaeForceUpcast: vaeConfig.force_upcast ?? false,
    forceZerosForEmptyPrompt: index.force_zeros_for_empty_prompt ?? false,
    defaults: defaultsFor(detection, unetConfig.sample_size ?? null),
    licence: licenceFor(detection),
  };
}

async function readComponent(root: string, name: ComponentName): Promise<ModelComponent> {
  const dir = join(root, name);
  const modelPath = join(dir, 'model.onnx');
  if (!(await isFile(modelPath))) {
    throw new AppError('model_invalid', `${name}/model.onnx is missing in ${root}`, { hint: REEXPORT_HINT });
  }
  const problem = await checkOnnxFile(modelPath);
  if (problem !== null) {
    throw new AppError('model_invalid', `${name}/model.onnx in ${root} ${describeProblem(problem)}`, {
      hint: `The file is damaged, probably an interrupted download or copy. ${REEXPORT_HINT}`,
    });
  }
  const entries = await readdir(dir);
  const config = entries.includes('config.json') ? await readJson(root, `${name}/config.json`, z.record(z.string(), z.unknown())) : null;
  return { name, modelPath, externalDataFiles: EXTERNAL_DATA_NAMES.filter((f) => entries.includes(f)), config };
}

function describeProblem(problem: OnnxFileProblem): string {
  switch (problem.kind) {
    case 'empty':
      return 'is empty';
    case 'truncated':
      return `is truncated: it has ${problem.actualBytes} bytes but its contents need at least ${problem.expectedBytes}`;
    case 'not-onnx':
      return `is not an ONNX model (${problem.detail})`;
  }
}

async function readTokenizer(root: string, dirName: string, familyPadId: number): Promise<TokenizerFiles> {
  const dir = join(root, dirName);
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  for (const file of ['vocab.json', 'merges.txt']) {
    if (!(await isFile(join(dir, file)))) {
      throw new AppError('model_invalid', `${dirName}/${file} is missing in ${root}`, { hint: `The CLIP tokenizer files are needed to read prompts. ${REEXPORT_HINT}` });
    }
  }
  // special_tokens_map.json wins over tokenizer_config.json, as in transformers.
  let padToken: string | null = null;
  for (const file of ['special_tokens_map.json', 'tokenizer_config.json']) {
    if (padToken === null && (await isFile(join(dir, file)))) {
      const pad = (await readJson(root, `${dirName}/${file}`, TokenizerConfigSchema)).pad_token;
      if (pad !== undefined && pad !== null) padToken = typeof pad === 'string' ? pad : pad.content;
    }
  }
  const vocab = await readJson(root, `${dirName}/vocab.json`, VocabSchema);
  if (padToken === null) {
    const name = Object.entries(vocab).find(([, id]) => id === familyPadId)?.[0] ?? String(familyPadId);
    return { dir, vocabPath, mergesPath, padToken: name, padTokenId: familyPadId, padSource: 'family default' };
  }
  const padTokenId = vocab[padToken];
  if (padTokenId === undefined) {
    throw new AppError('model_invalid', `${dirName} declares pad token "${padToken}", which is not in its vocab.json (${root})`, { hint: REEXPORT_HINT });
  }
  return { dir, vocabPath, mergesPath, padToken, padTokenId, padSource: 'tokenizer files' };
}

async function readJson<T extends z.ZodType>(root: string, relative: string, schema: T): Promise<z.infer<T>> {
  const path = join(root, relative);
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new AppError('model_invalid', `${relative} is missing in ${root}`, { hint: REEXPORT_HINT, cause: error });
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError('model_invalid', `${path} is not valid JSON`, { hint: REEXPORT_HINT, cause: error });
  }
  return parse(schema, value, path);
}

function parse<T extends z.ZodType>(schema: T, value: unknown, path: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue !== undefined && issue.path.length > 0 ? issue.path.join('.') : 'top level';
    throw new AppError('model_invalid', `${path}: ${where}: ${issue?.message ?? 'unexpected contents'}`, { hint: REEXPORT_HINT });
  }
  return result.data;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
