/**
 * Prompt → what the UNet is conditioned on (reference §2.2, §3.1, §3.2): token ids per encoder,
 * then the encoder states. SD 1.x/2.x use `last_hidden_state`; SDXL concatenates the penultimate
 * hidden states of both encoders (`hidden_states[-2]`, no final LayerNorm) and takes encoder 2's
 * pooled `text_embeds`.
 */
import { AppError } from '../../../src/contract/errors.js';
import { CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.js';
import { BatchedSession, type OutputValue } from './batched-session.js';
import type { ComponentName } from '../models/model-folder.js';
import type { LoadedModel } from './model-sessions.js';

export interface PromptTokens {
  /** 77 ids per text encoder, padded with that tokenizer's pad id. */
  readonly ids: readonly (readonly number[])[];
  readonly truncated: boolean;
  readonly cutWords: readonly string[];
}

/** One prompt's conditioning (batch 1). */
export interface EncodedPrompt {
  /** [77, width] */
  readonly hiddenStates: Float32Array;
  readonly width: number;
  /** SDXL's pooled embedding [1280]; null for SD 1.x/2.x. */
  readonly pooled: Float32Array | null;
}

export async function tokenizePrompt(model: LoadedModel, text: string): Promise<PromptTokens> {
  const tokenizers = await model.tokenizers();
  const encodings = tokenizers.map((tokenizer, i) =>
    tokenizer.encode(text, { padTo: CONTEXT_LENGTH, padId: model.folder.tokenizers[i]!.padTokenId }),
  );
  return {
    ids: encodings.map((e) => e.ids),
    truncated: encodings.some((e) => e.truncated),
    cutWords: [...new Set(encodings.flatMap((e) => e.cutWords))],
  };
}

const SDXL_FAMILIES = new Set(['sdxl', 'sdxl-turbo']);

export async function encodePrompt(model: LoadedModel, tokens: PromptTokens): Promise<EncodedPrompt> {
  const encoders = model.folder.textEncoders;
  if (!SDXL_FAMILIES.has(model.folder.family)) {
    const [states] = await runEncoder(model, encoders[0]!.name, tokens.ids[0]!, (outputs) => [stateOutput(outputs, 'last_hidden_state', encoders[0]!.name)]);
    return { hiddenStates: states.data, width: lastDim(states), pooled: null };
  }
  const [h1] = await runEncoder(model, 'text_encoder', tokens.ids[0]!, (outputs) => [penultimateState(outputs, 'text_encoder')]);
  const [h2, pooled] = await runEncoder(model, 'text_encoder_2', tokens.ids[1] ?? tokens.ids[0]!, (outputs) => [
    penultimateState(outputs, 'text_encoder_2'),
    pooledOutput(outputs, 'text_encoder_2'),
  ]);
  return { hiddenStates: concatLastAxis(h1, h2), width: lastDim(h1) + lastDim(h2), pooled: pooled!.data };
}

/** `text` → its pooled embedding (see `pooledPromptEmbedding`): what the semantic cache compares. */
export async function encodePromptEmbedding(model: LoadedModel, text: string): Promise<Float32Array> {
  return pooledPromptEmbedding(model, await tokenizePrompt(model, text));
}

/**
 * The pooled embedding of a prompt, for comparing prompts (semantic cache): SDXL encoder 2's
 * `text_embeds`; for SD, `pooler_output`, or CLIP's own pooling (the state at the EOS token)
 * when the export leaves it out.
 */
export async function pooledPromptEmbedding(model: LoadedModel, tokens: PromptTokens): Promise<Float32Array> {
  if (SDXL_FAMILIES.has(model.folder.family)) {
    const [pooled] = await runEncoder(model, 'text_encoder_2', tokens.ids[1] ?? tokens.ids[0]!, (outputs) => [pooledOutput(outputs, 'text_encoder_2')]);
    return pooled.data;
  }
  const ids = tokens.ids[0]!;
  const name = model.folder.textEncoders[0]!.name;
  let hasPooler = false;
  const [value] = await runEncoder(model, name, ids, (outputs) => {
    hasPooler = outputs.some((o) => o.name === 'pooler_output');
    return [hasPooler ? 'pooler_output' : stateOutput(outputs, 'last_hidden_state', name)];
  });
  if (hasPooler) return value.data;
  const states = value;
  const width = lastDim(states);
  const eos = ids.indexOf(Math.max(...ids)); // transformers: argmax of the ids, i.e. the first EOS
  return states.data.slice(eos * width, (eos + 1) * width);
}

type OutputPicker = (outputs: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[]) => string[];

/** Runs one encoder on one prompt; returns the picked outputs in the order picked. */
async function runEncoder(
  model: LoadedModel,
  name: ComponentName,
  ids: readonly number[],
  pick: OutputPicker,
): Promise<[OutputValue, ...OutputValue[]]> {
  const session = await model.session(name);
  const runner = new BatchedSession(session, name, 1);
  const unexpected = session.inputs.filter((i) => i.name !== 'input_ids').map((i) => i.name);
  if (unexpected.length > 0) {
    throw new AppError('model_invalid', `${name}/model.onnx takes inputs ImageBench does not know how to fill: ${unexpected.join(', ')}`, {
      hint: 'Stable Diffusion text encoders take only input_ids; export the model folder again with Optimum.',
    });
  }
  const names = pick(session.outputs);
  const out = await runner.run({ input_ids: { values: ids, dims: [1, ids.length] } }, names);
  const values = names.map((n) => out[n]!);
  return [values[0]!, ...values.slice(1)];
}

function stateOutput(outputs: Parameters<OutputPicker>[0], wanted: string, component: string): string {
  if (outputs.some((o) => o.name === wanted)) return wanted;
  throw new AppError('model_invalid', `${component}/model.onnx has no "${wanted}" output (it has: ${outputs.map((o) => o.name).join(', ')})`, {
    hint: 'Export the model folder again with Optimum (`optimum-cli export onnx`).',
  });
}

/** `hidden_states[-2]`: the highest-numbered `hidden_states.N` output but one. */
function penultimateState(outputs: Parameters<OutputPicker>[0], component: string): string {
  const layers = outputs.map((o) => /^hidden_states\.(\d+)$/.exec(o.name)?.[1]).filter((n): n is string => n !== undefined).map(Number);
  if (layers.length < 2) {
    throw new AppError('model_invalid', `${component}/model.onnx exposes no hidden_states.N outputs, which SDXL needs (the penultimate layer)`, {
      hint: 'SDXL exports from Optimum and Olive include them; export the model folder again with Optimum.',
    });
  }
  return `hidden_states.${Math.max(...layers) - 1}`;
}

/** diffusers takes "the first output with ndim == 2"; Optimum names it text_embeds. */
function pooledOutput(outputs: Parameters<OutputPicker>[0], component: string): string {
  const found = outputs.find((o) => o.name === 'text_embeds') ?? outputs.find((o) => o.shape.length === 2);
  if (found === undefined) {
    throw new AppError('model_invalid', `${component}/model.onnx has no pooled output (text_embeds), which SDXL needs`, {
      hint: 'text_encoder_2 must be a CLIPTextModelWithProjection export; export the model folder again with Optimum.',
    });
  }
  return found.name;
}

function lastDim(value: OutputValue): number {
  return value.dims[value.dims.length - 1] ?? 0;
}

/** [S, a] ++ [S, b] → [S, a + b], row by row (batch 1). */
function concatLastAxis(a: OutputValue, b: OutputValue): Float32Array {
  const wa = lastDim(a);
  const wb = lastDim(b);
  const rows = a.data.length / wa;
  const out = new Float32Array(rows * (wa + wb));
  for (let r = 0; r < rows; r++) {
    out.set(a.data.subarray(r * wa, (r + 1) * wa), r * (wa + wb));
    out.set(b.data.subarray(r * wb, (r + 1) * wb), r * (wa + wb) + wa);
  }
  return out;
}
