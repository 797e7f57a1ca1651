import type { ActualCost, CostEstimate } from '../contract/money.js';
import { requestedPixels } from './geometry.js';
import { findPriceRow, type PriceRow } from './price-table.js';
import type { GenerateRequest, ProviderId } from './types.js';

export { findPriceRow, loadPriceTable, PriceRowSchema, PriceTableSchema, type PriceRow, type PriceTable } from './price-table.js';

/** What a price depends on, in the provider's own terms (its wire size, its quality names). */
export interface PricedShape {
  /** `1024x1024` for OpenAI, `1K` for Gemini; matched against `variants[].when.size`. */
  size?: string;
  /** Undefined or `auto` spans every quality listed for the size. */
  quality?: string;
  /** Output pixels per image, for megapixel prices. */
  pixels?: number;
  /** Input image pixels, for prices that bill input megapixels (FLUX.2). */
  inputPixels?: number;
}

const MP_BINARY = 1_048_576;
const MP_DECIMAL = 1_000_000;

export function shapeOf(req: GenerateRequest): PricedShape {
  const size = req.width !== undefined && req.height !== undefined ? `${req.width}x${req.height}` : undefined;
  return { size, quality: req.quality, pixels: requestedPixels(req) };
}

function usd(v: number): string {
  return `$${Number(v.toPrecision(6))}`;
}

function fromBounds(min: number, max: number, basis: string): CostEstimate {
  const round = (v: number): number => Math.round(v * 1e8) / 1e8;
  return min === max ? { kind: 'exact', usd: round(min), basis } : { kind: 'range', minUsd: round(min), maxUsd: round(max), basis };
}

function unknown(reason: string): CostEstimate {
  return { kind: 'unknown', reason };
}

type Variant = PriceRow['variants'][number];

function matching<V extends Variant>(variants: readonly V[], shape: PricedShape): V[] {
  const anyQuality = shape.quality === undefined || shape.quality === 'auto';
  return variants.filter((v) => {
    const when = v.when;
    if (!when) return true;
    if (when.size !== undefined && when.size !== shape.size) return false;
    if (when.quality !== undefined && !anyQuality && when.quality !== shape.quality) return false;
    return true;
  });
}

function describeShape(shape: PricedShape): string {
  return [shape.size, shape.quality].filter((s) => s !== undefined).join(' ') || 'this request';
}

function perImageBounds(row: PriceRow, shape: PricedShape): { min: number; max: number; what: string } | string {
  switch (row.unit) {
    case 'image':
    case 'credit': {
      const rate = row.unit === 'credit' ? row.usdPerCredit : 1;
      if (rate === null) return `${row.provider} publishes no credit-to-dollar rate${row.note ? ` (${row.note})` : ''}`;
      const found = matching(row.variants, shape);
      if (found.length === 0) return `no listed price for ${describeShape(shape)}`;
      const prices = found.map((v) => v.price);
      if (prices.some((p) => p === null)) return `price not published${row.note ? `: ${row.note}` : ''}`;
      const usds = prices.map((p) => (p ?? 0) * rate);
      const unitWord = row.unit === 'credit' ? ` (${found[0]?.price} credits)` : '';
      return { min: Math.min(...usds), max: Math.max(...usds), what: `per image${unitWord}` };
    }
    case 'megapixel': {
      const variant = matching(row.variants, shape)[0];
      if (!variant || variant.price === null) return 'price not published';
      const pixels = shape.pixels ?? MP_BINARY;
      const mp = (divisor: number): number => (row.rounding === 'up-to-whole' ? Math.ceil(pixels / divisor) : Math.round((pixels / divisor) * 100) / 100);
      const inputMp = (divisor: number): number => (shape.inputPixels ? Math.round((shape.inputPixels / divisor) * 100) / 100 : 0);
      const cost = (divisor: number): number => {
        const extra = variant.extraMegapixelPrice;
        if (extra === undefined) return (variant.price ?? 0) * mp(divisor);
        return (variant.price ?? 0) + Math.max(0, mp(divisor) - 1) * extra + inputMp(divisor) * extra;
      };
      const low = mp(MP_BINARY);
      const high = mp(MP_DECIMAL);
      const mpText = low === high ? `${low} MP` : `${low}–${high} MP`;
      return { min: cost(MP_BINARY), max: cost(MP_DECIMAL), what: `per image (${mpText} at ${usd(variant.price)}/MP)` };
    }
    case 'gpu-second': {
      const price = row.variants[0]?.price ?? null;
      if (price === null || row.typicalSeconds === null) return 'GPU time price or typical run time not known';
      return {
        min: price * row.typicalSeconds.min,
        max: price * row.typicalSeconds.max,
        what: `per run (${row.typicalSeconds.min}–${row.typicalSeconds.max} s on ${row.hardware} at ${usd(price)}/s)`,
      };
    }
    case 'token': {
      const found = matching(row.variants, shape);
      if (found.length === 0) return `no published output price for ${describeShape(shape)}`;
      const outRate = row.rates.imageOutputPerMTok;
      const candidates: number[] = [];
      for (const v of found) {
        if (v.price !== undefined && v.price !== null) candidates.push(v.price);
        if (v.outputTokens !== undefined && outRate !== null) candidates.push((v.outputTokens * outRate) / 1e6);
      }
      if (candidates.length === 0) return 'output price not published';
      return { min: Math.min(...candidates), max: Math.max(...candidates), what: 'image output per image' };
    }
  }
}

/**
 * What a request will cost before it is sent: exact for a fixed per-image price, a range where the
 * price depends on tokens, megapixels or GPU seconds. Includes `n`.
 */
export function estimateCost(provider: ProviderId, model: string, req: GenerateRequest, shape: PricedShape = shapeOf(req)): CostEstimate {
  const row = findPriceRow(provider, model);
  if (!row) return unknown(`No price for ${provider} ${model} in prices.json.`);
  const bounds = perImageBounds(row, shape);
  if (typeof bounds === 'string') return unknown(`${provider} ${model}: ${bounds}.`);
  // GPU-second rows price a run; a run makes all n images, and longer with more of them.
  const min = bounds.min * req.n;
  let max = bounds.max * req.n;
  let basis = `${req.n} × ${bounds.min === bounds.max ? usd(bounds.min) : `${usd(bounds.min)}–${usd(bounds.max)}`} ${bounds.what}`;
  if (row.unit === 'token') {
    const textRate = row.rates.textInputPerMTok;
    if (textRate !== null) {
      // A BPE tokenizer never makes more tokens than the prompt has UTF-8 bytes: a safe upper bound.
      max += (Buffer.byteLength(req.prompt, 'utf8') * textRate) / 1e6;
      basis += ', plus prompt tokens';
    } else {
      basis += '; input tokens are not priced in the table';
    }
    if (req.initImage) basis += '; input-image tokens are extra and read from usage after the call';
  }
  return fromBounds(min, max, basis);
}

/** What the provider reported about a finished job, in its own unit. */
export type ReportedUsage =
  | { kind: 'tokens'; textInput?: number; imageInput?: number; imageOutput: number; textOutput?: number }
  | { kind: 'usd'; usd: number; what: string }
  | { kind: 'billable-units'; units: number }
  | { kind: 'seconds'; seconds: number };

function fromReport(row: PriceRow | undefined, reported: ReportedUsage): ActualCost | undefined {
  if (reported.kind === 'usd') return { usd: reported.usd, source: 'provider-reported', basis: reported.what };
  if (!row) return undefined;
  if (reported.kind === 'tokens' && row.unit === 'token') {
    const r = row.rates;
    if (r.imageOutputPerMTok === null) return undefined;
    const parts: Array<[number | undefined, number | null, string]> = [
      [reported.textInput, r.textInputPerMTok, 'text in'],
      [reported.imageInput, r.imageInputPerMTok, 'image in'],
      [reported.imageOutput, r.imageOutputPerMTok, 'image out'],
      [reported.textOutput, r.textOutputPerMTok, 'text out'],
    ];
    let total = 0;
    const said: string[] = [];
    const unpriced: string[] = [];
    for (const [count, rate, label] of parts) {
      if (!count) continue;
      if (rate === null) unpriced.push(label);
      else {
        total += (count * rate) / 1e6;
        said.push(`${count} ${label} × ${usd(rate)}/1M`);
      }
    }
    const tail = unpriced.length ? `; ${unpriced.join(', ')} tokens not priced in the table` : '';
    return { usd: Math.round(total * 1e8) / 1e8, source: 'provider-reported', basis: `usage tokens: ${said.join(' + ')}${tail}` };
  }
  const price = row.variants[0]?.price;
  if (price === null || price === undefined) return undefined;
  if (reported.kind === 'billable-units' && (row.unit === 'megapixel' || row.unit === 'image')) {
    return { usd: Math.round(reported.units * price * 1e8) / 1e8, source: 'provider-reported', basis: `${reported.units} billable units × ${usd(price)}` };
  }
  if (reported.kind === 'seconds' && row.unit === 'gpu-second') {
    return {
      usd: Math.round(reported.seconds * price * 1e8) / 1e8,
      source: 'provider-reported',
      basis: `${reported.seconds} s predict time × ${usd(price)}/s (${row.hardware})`,
    };
  }
  return undefined;
}

/**
 * The cost of a finished job: the provider's own report where it gives one, else the table for the
 * images actually returned (a range falls back to its upper end, labelled as such).
 */
export function actualCost(
  provider: ProviderId,
  model: string,
  outcome: { images: number; shape?: PricedShape; reported?: ReportedUsage },
): ActualCost | undefined {
  const row = findPriceRow(provider, model);
  if (outcome.reported) {
    const reported = fromReport(row, outcome.reported);
    if (reported) return reported;
  }
  if (!row || outcome.images === 0) return outcome.images === 0 ? { usd: 0, source: 'price-table', basis: 'no images returned' } : undefined;
  const bounds = perImageBounds(row, outcome.shape ?? {});
  if (typeof bounds === 'string') return undefined;
  const each = bounds.max;
  const range = bounds.min === bounds.max ? '' : ' (upper end of the table range; the provider reported no billed amount)';
  return {
    usd: Math.round(each * outcome.images * 1e8) / 1e8,
    source: 'price-table',
    basis: `${outcome.images} × ${usd(each)} ${bounds.what}${range}`,
  };
}
