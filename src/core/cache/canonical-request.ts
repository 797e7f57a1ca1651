import crypto from 'node:crypto';
import { AppError } from '../../contract/errors.js';

/** JSON; an undefined object member is left out, as JSON.stringify does. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/** A render request reduced to what decides its pixels: the exact cache's key material. */
export interface CacheableRequest {
  /** `local` for on-device previews. */
  provider: string;
  model: string;
  prompt: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  /** `W:H`, for models that take a ratio instead of a size. */
  aspectRatio?: string;
  /** Absent means random: such a request is cached only when the user allows it. */
  seed?: number;
  steps?: number;
  /** Images per call. */
  imageCount?: number;
  /** sha256 of the init image for image-to-image. */
  initImageSha256?: string;
  /** Every other parameter that changes pixels: guidance, scheduler, quality, style, strength, provider options. */
  params?: Record<string, JsonValue>;
}

/**
 * Prompts that differ only in invisible ways get the same key: Unicode NFC (the same text typed on
 * different systems), trimmed, runs of whitespace collapsed to one space — every tokenizer in use
 * (CLIP BPE, T5/sentencepiece, the LLM tokenizers behind gpt-image and Gemini) treats those alike.
 * Case is kept: CLIP lower-cases, but T5 (Flux, SD3) and LLM-based models do not, and a false hit
 * hands the user a different image than they asked for, while a false miss only costs one render.
 */
export function normalisePrompt(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/gu, ' ');
}

/** JSON with object keys sorted at every depth and no insignificant whitespace. */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AppError('invalid_input', `A cached request cannot contain the number ${value}.`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value === undefined) return 'null';
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

export interface CanonicalRequest {
  /** sha256 hex of the versioned canonical JSON. */
  key: string;
  json: string;
  randomSeed: boolean;
}

/** Bumped when normalisation changes, so old entries stop matching instead of matching wrongly. */
const KEY_VERSION = 'imagebench-exact-cache/v1';

export function canonicalRequest(request: CacheableRequest): CanonicalRequest {
  const negative = request.negativePrompt === undefined ? '' : normalisePrompt(request.negativePrompt);
  const material: { [key: string]: JsonValue | undefined } = {
    provider: request.provider.trim(),
    model: request.model.trim(),
    prompt: normalisePrompt(request.prompt),
    // An empty negative prompt and none are the same request to every pipeline (both mean "").
    negativePrompt: negative === '' ? undefined : negative,
    width: request.width,
    height: request.height,
    aspectRatio: request.aspectRatio,
    seed: request.seed ?? 'random',
    steps: request.steps,
    imageCount: request.imageCount ?? 1,
    initImageSha256: request.initImageSha256,
    params: request.params ?? {},
  };
  const json = canonicalJson(material);
  const key = crypto.createHash('sha256').update(`${KEY_VERSION}\n${json}`).digest('hex');
  return { key, json, randomSeed: request.seed === undefined };
}
