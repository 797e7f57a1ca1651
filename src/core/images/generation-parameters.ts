import { z } from 'zod';
import { GenerationParametersSchema, type GenerationParameters } from '../../contract/images.js';
import { readPngText, writePngText, type PngTextEntry } from './png-text.js';

export { GenerationParametersSchema, type GenerationParameters };

/** The keyword AUTOMATIC1111, Forge and ComfyUI readers look for. */
export const A1111_KEYWORD = 'parameters';
/** Our lossless copy, as JSON. */
export const JSON_KEYWORD = 'imagebench';

/** A1111 quotes a value that would break its `key: value, …` line. */
function quote(value: string): string {
  return /[,:\n"]/.test(value) ? JSON.stringify(value) : value;
}

/**
 * The A1111 "parameters" text: the prompt, a `Negative prompt:` line, then one line of
 * `Key: value` pairs, so the image can be dropped onto A1111's PNG Info tab.
 */
export function formatA1111(params: GenerationParameters): string {
  const pairs: Array<[string, string | number | boolean | undefined]> = [
    ['Steps', params.steps],
    ['Sampler', params.scheduler],
    ['CFG scale', params.guidanceScale],
    ['Seed', params.seed],
    ['Size', params.width !== undefined && params.height !== undefined ? `${params.width}x${params.height}` : undefined],
    ['Model', params.model],
    ['Provider', params.provider],
    ...Object.entries(params.extra ?? {}).map(([k, v]): [string, string | number | boolean] => [k, v]),
  ];
  const line = pairs
    .filter((pair): pair is [string, string | number | boolean] => pair[1] !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? quote(v) : String(v)}`)
    .join(', ');
  const negative = params.negativePrompt ? `\nNegative prompt: ${params.negativePrompt}` : '';
  return `${params.prompt}${negative}${line ? `\n${line}` : ''}`;
}

// A1111's own pattern (modules/infotext_utils.py): a key, then a quoted or unquoted value up to a comma.
const PAIR = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;

/** Reads an A1111 "parameters" text back; keys we do not model land in `extra`. */
export function parseA1111(text: string): GenerationParameters {
  const lines = text.split('\n');
  const last = lines.at(-1) ?? '';
  const pairs = [...last.matchAll(PAIR)];
  const hasSettings = pairs.length >= 3 || /^Steps: /.test(last);
  const body = hasSettings ? lines.slice(0, -1) : lines;
  const promptLines: string[] = [];
  const negativeLines: string[] = [];
  for (const line of body) {
    if (negativeLines.length === 0 && line.startsWith('Negative prompt:')) negativeLines.push(line.slice('Negative prompt:'.length).trim());
    else (negativeLines.length > 0 ? negativeLines : promptLines).push(line);
  }
  const params: GenerationParameters = { prompt: promptLines.join('\n') };
  if (negativeLines.length > 0) params.negativePrompt = negativeLines.join('\n');
  const extra: Record<string, string | number> = {};
  for (const [, key = '', raw = ''] of hasSettings ? pairs : []) {
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.trim();
    const number = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : null;
    const size = /^(\d+)x(\d+)$/.exec(value);
    if (key === 'Steps' && number !== null) params.steps = number;
    else if (key === 'Sampler') params.scheduler = value;
    else if (key === 'CFG scale' && number !== null) params.guidanceScale = number;
    else if (key === 'Seed' && number !== null) params.seed = number;
    else if (key === 'Size' && size) {
      params.width = Number(size[1]);
      params.height = Number(size[2]);
    } else if (key === 'Model') params.model = value;
    else if (key === 'Provider') params.provider = value;
    else extra[key] = number ?? value;
  }
  if (Object.keys(extra).length > 0) params.extra = extra;
  return params;
}

/** The PNG with both keys written: A1111's text for other tools, our JSON to read back exactly. */
export function embedParameters(png: Uint8Array, params: GenerationParameters): Buffer {
  const entries: PngTextEntry[] = [
    { keyword: A1111_KEYWORD, text: formatA1111(params) },
    { keyword: JSON_KEYWORD, text: JSON.stringify({ version: 1, parameters: params }) },
  ];
  return writePngText(png, entries);
}

const EmbeddedJsonSchema = z.object({ version: z.literal(1), parameters: GenerationParametersSchema });

/**
 * The generation parameters in a PNG: our JSON when present and valid, else the A1111 text (images
 * from A1111, Forge or older tools), else null.
 */
export function readParameters(png: Uint8Array): GenerationParameters | null {
  const entries = readPngText(png);
  const json = entries.find((e) => e.keyword === JSON_KEYWORD);
  if (json) {
    const parsed = EmbeddedJsonSchema.safeParse(safeJson(json.text));
    if (parsed.success) return parsed.data.parameters;
  }
  const a1111 = entries.find((e) => e.keyword === A1111_KEYWORD);
  return a1111 ? parseA1111(a1111.text) : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Hand-edited or foreign JSON: fall back to the A1111 text rather than fail the import.
    return null;
  }
}
