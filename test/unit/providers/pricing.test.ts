import { describe, expect, it } from 'vitest';
import rawPrices from '../../../src/providers/prices.json' with { type: 'json' };
import { actualCost, estimateCost, loadPriceTable, PriceTableSchema } from '../../../src/providers/pricing.js';
import { listProviders } from '../../../src/providers/registry.js';
import type { GenerateRequest } from '../../../src/providers/types.js';

const base: GenerateRequest = { model: 'x', prompt: 'a quiet harbour at dawn', width: 1024, height: 1024, n: 1 };

describe('prices.json', () => {
  it('parses with the schema, every row with an https source URL and a date', () => {
    const table = PriceTableSchema.parse(rawPrices);
    expect(table.rows.length).toBeGreaterThan(30);
    for (const row of table.rows) {
      expect(row.sourceUrl, `${row.provider}/${row.model}`).toMatch(/^https:\/\//);
      expect(row.checked).toMatch(/^\d{4}-\d{2}(-\d{2})?$/);
      expect(row.currency).toBe('USD');
    }
  });

  it('never says 0 for a cloud price; unknown is null', () => {
    for (const row of loadPriceTable().rows) {
      const local = row.provider === 'comfyui' || row.provider === 'a1111';
      for (const variant of row.variants) {
        if (local) expect(variant.price).toBe(0);
        else expect(variant.price, `${row.provider}/${row.model}`).not.toBe(0);
      }
    }
    const unknown = loadPriceTable().rows.filter((r) => r.variants.some((v) => v.price === null)).map((r) => `${r.provider}/${r.model}`);
    expect(unknown).toEqual(['stability/sd3.5-flash', 'leonardo/*']);
  });

  it('rejects a row that prices an unknown cloud price as 0, or lacks a source', () => {
    const row = { provider: 'openai', model: 'm', unit: 'image', variants: [{ price: 0 }], currency: 'USD', sourceUrl: 'https://x.test', sourceDate: '2026', checked: '2026-11', confidence: 'verified' };
    expect(PriceTableSchema.safeParse({ rows: [row] }).success).toBe(false);
    expect(PriceTableSchema.safeParse({ rows: [{ ...row, variants: [{ price: null }] }] }).success).toBe(true);
    const { sourceUrl: _dropped, ...unsourced } = row;
    expect(PriceTableSchema.safeParse({ rows: [{ ...unsourced, variants: [{ price: 1 }] }] }).success).toBe(false);
    expect(PriceTableSchema.safeParse({ rows: [{ ...row, variants: [{ price: 1 }], checked: 'last week' }] }).success).toBe(false);
  });

  it('has a row for every model a provider implements', () => {
    const missing: string[] = [];
    const table = loadPriceTable();
    for (const provider of listProviders()) {
      for (const model of provider.models()) {
        if (!table.rows.some((r) => r.provider === provider.info.id && r.model === model.id)) missing.push(`${provider.info.id}/${model.id}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('estimateCost', () => {
  it('is exact for a fixed per-image price, times n', () => {
    expect(estimateCost('replicate', 'black-forest-labs/flux-1.1-pro', { ...base, n: 3 })).toEqual({ kind: 'exact', usd: 0.12, basis: '3 × $0.04 per image' });
  });

  it('converts credits to dollars', () => {
    expect(estimateCost('stability', 'sd3.5-large', { ...base, n: 2 })).toMatchObject({ kind: 'exact', usd: 0.13 });
  });

  it('picks the size and quality variant', () => {
    expect(estimateCost('openai', 'dall-e-3', base, { size: '1024x1792', quality: 'hd' })).toMatchObject({ kind: 'exact', usd: 0.12 });
    expect(estimateCost('openai', 'dall-e-3', base, { size: '512x512', quality: 'hd' })).toMatchObject({ kind: 'unknown' });
  });

  it('gives a range for token prices: output tokens per size/quality, plus prompt tokens, times n', () => {
    const low = estimateCost('openai', 'gpt-image-1', { ...base, n: 4 }, { size: '1536x1024', quality: 'low' });
    // 400 tokens × $40/1M = $0.016 per image; the prompt (23 bytes) adds at most 23 × $5/1M.
    expect(low).toMatchObject({ kind: 'range', minUsd: 0.064, maxUsd: 0.064115 });
    const auto = estimateCost('openai', 'gpt-image-1', base, { size: '1024x1024' });
    expect(auto).toMatchObject({ kind: 'range', minUsd: 0.01088 });
    // The published $0.167 is a little above 4160 tokens × $40/1M; the range spans both.
    expect(auto.kind === 'range' && auto.maxUsd).toBeCloseTo(0.167 + 0.000115, 6);
  });

  it('is unknown where a token model publishes no price for the size', () => {
    expect(estimateCost('openai', 'gpt-image-2', base, { size: '1536x1024', quality: 'high' }).kind).toBe('unknown');
  });

  it('gives a megapixel range, rounding up to whole MP where the provider does', () => {
    expect(estimateCost('fal', 'fal-ai/flux/dev', { ...base, width: 1920, height: 1080, n: 2 }, { pixels: 1920 * 1080 })).toMatchObject({
      kind: 'range',
      minUsd: 0.1,
      maxUsd: 0.15,
    });
  });

  it('prices FLUX.2 as first MP plus extra MP, input MP included', () => {
    expect(estimateCost('bfl', 'flux-2-max', base, { pixels: 1024 * 1024, inputPixels: 1024 * 1024 })).toMatchObject({ kind: 'range', minUsd: 0.1, maxUsd: 0.103 });
  });

  it('gives a GPU-second range from typical seconds × $/s, times n', () => {
    expect(estimateCost('replicate', 'stability-ai/sdxl', { ...base, n: 2 })).toMatchObject({ kind: 'range', minUsd: 0.0078, maxUsd: 0.0195 });
  });

  it('is exactly $0 on a self-hosted server', () => {
    expect(estimateCost('comfyui', 'anything.safetensors', { ...base, n: 8 })).toMatchObject({ kind: 'exact', usd: 0 });
    expect(estimateCost('a1111', '*', base)).toMatchObject({ kind: 'exact', usd: 0 });
  });

  it('is unknown, never $0, when the price is not published or the model is not in the table', () => {
    expect(estimateCost('leonardo', '6b645e3a-d64f-4341-a6d8-7a3690fbf042', base).kind).toBe('unknown');
    expect(estimateCost('stability', 'sd3.5-flash', base).kind).toBe('unknown');
    expect(estimateCost('openai', 'gpt-image-9', base)).toEqual({ kind: 'unknown', reason: 'No price for openai gpt-image-9 in prices.json.' });
  });
});

describe('actualCost', () => {
  it('prices reported usage tokens at the table rates', () => {
    const cost = actualCost('openai', 'gpt-image-1-mini', { images: 1, reported: { kind: 'tokens', textInput: 100, imageInput: 0, imageOutput: 1056 } });
    expect(cost).toMatchObject({ usd: 0.008648, source: 'provider-reported' });
  });

  it('takes a provider-reported dollar amount as is', () => {
    expect(actualCost('bfl', 'flux-2-pro', { images: 1, reported: { kind: 'usd', usd: 0.045, what: '4.5 credits' } })).toEqual({ usd: 0.045, source: 'provider-reported', basis: '4.5 credits' });
  });

  it('multiplies fal billable units and Replicate predict seconds by the table price', () => {
    expect(actualCost('fal', 'fal-ai/flux/dev', { images: 2, reported: { kind: 'billable-units', units: 4 } })).toMatchObject({ usd: 0.1, source: 'provider-reported' });
    expect(actualCost('replicate', 'stability-ai/sdxl', { images: 1, reported: { kind: 'seconds', seconds: 10 } })).toMatchObject({ usd: 0.00975 });
  });

  it('falls back to the table for the images returned, labelling the upper end of a range', () => {
    expect(actualCost('ideogram', 'ideogram-v3', { images: 3, shape: { quality: 'QUALITY' } })).toMatchObject({ usd: 0.27, source: 'price-table' });
    const fal = actualCost('fal', 'fal-ai/flux/schnell', { images: 1, shape: { pixels: 1024 * 1024 } });
    expect(fal).toMatchObject({ usd: 0.006, source: 'price-table', basis: expect.stringContaining('upper end') });
  });

  it('returns undefined rather than inventing a figure when nothing is known', () => {
    expect(actualCost('leonardo', 'some-uuid', { images: 2 })).toBeUndefined();
  });
});
