import { z } from 'zod';
import rawPrices from './prices.json' with { type: 'json' };
import { ProviderIdSchema, type ProviderId } from '../contract/providers.js';

/**
 * The schema of `prices.json`. Prices are data with a source and a date per row; `price: null` means
 * the reference gives none (shown as unknown), and 0 is allowed only for self-hosted servers.
 */

const LOCAL_PROVIDERS: readonly ProviderId[] = ['comfyui', 'a1111'];

/** ISO 8601 calendar date, full or reduced to the month (the reference is dated by month). */
const IsoDate = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/, 'ISO date (YYYY-MM or YYYY-MM-DD)');
const Price = z.number().nonnegative().nullable();
const Selector = z.strictObject({ size: z.string().optional(), quality: z.string().optional() });

const common = {
  provider: ProviderIdSchema,
  model: z.string().min(1),
  currency: z.literal('USD'),
  sourceUrl: z.url({ protocol: /^https$/ }),
  /** When the source was dated, as the reference reports it. */
  sourceDate: z.string().min(4),
  checked: IsoDate,
  confidence: z.enum(['verified', 'third-party', 'unverified']),
  note: z.string().optional(),
};

const PlainVariant = z.strictObject({ when: Selector.optional(), price: Price });

const ImageRowSchema = z.strictObject({ ...common, unit: z.literal('image'), variants: z.array(PlainVariant).min(1) });

const CreditRowSchema = z.strictObject({
  ...common,
  unit: z.literal('credit'),
  usdPerCredit: z.number().positive().nullable(),
  variants: z.array(PlainVariant).min(1),
});

const MegapixelRowSchema = z.strictObject({
  ...common,
  unit: z.literal('megapixel'),
  /** fal bills whole megapixels rounded up; BFL reports megapixels to two decimals. */
  rounding: z.enum(['up-to-whole', 'exact']),
  variants: z
    .array(z.strictObject({ when: Selector.optional(), price: Price, extraMegapixelPrice: z.number().positive().optional() }))
    .min(1),
});

const GpuSecondRowSchema = z.strictObject({
  ...common,
  unit: z.literal('gpu-second'),
  hardware: z.string().min(1),
  typicalSeconds: z.strictObject({ min: z.number().positive(), max: z.number().positive() }).nullable(),
  variants: z.array(PlainVariant).min(1),
});

const RatePerMTok = z.number().positive().nullable();
const TokenRowSchema = z.strictObject({
  ...common,
  unit: z.literal('token'),
  rates: z.strictObject({
    textInputPerMTok: RatePerMTok,
    imageInputPerMTok: RatePerMTok,
    imageOutputPerMTok: RatePerMTok,
    textOutputPerMTok: RatePerMTok,
  }),
  /** Per size/quality: output image tokens, and/or the published USD per image (output only). */
  variants: z
    .array(
      z
        .strictObject({ when: Selector.optional(), outputTokens: z.number().int().positive().optional(), price: Price.optional() })
        .refine((v) => v.outputTokens !== undefined || v.price !== undefined, 'give outputTokens or price'),
    )
    .min(1),
});

export const PriceRowSchema = z
  .discriminatedUnion('unit', [ImageRowSchema, CreditRowSchema, MegapixelRowSchema, GpuSecondRowSchema, TokenRowSchema])
  .refine((row) => LOCAL_PROVIDERS.includes(row.provider) || row.variants.every((v) => v.price !== 0), {
    message: 'a price of 0 is only for self-hosted servers; an unknown price is null',
  });
export type PriceRow = z.infer<typeof PriceRowSchema>;

export const PriceTableSchema = z
  .strictObject({ $comment: z.string().optional(), rows: z.array(PriceRowSchema) })
  .refine((t) => new Set(t.rows.map((r) => `${r.provider}/${r.model}`)).size === t.rows.length, 'one row per provider/model');
export type PriceTable = z.infer<typeof PriceTableSchema>;

let cached: PriceTable | undefined;

export function loadPriceTable(): PriceTable {
  cached ??= PriceTableSchema.parse(rawPrices);
  return cached;
}

/** The row for a model; `*` rows cover every model of a provider (local checkpoints, Leonardo UUIDs). */
export function findPriceRow(provider: ProviderId, model: string, table: PriceTable = loadPriceTable()): PriceRow | undefined {
  return (
    table.rows.find((r) => r.provider === provider && r.model === model) ??
    table.rows.find((r) => r.provider === provider && r.model === '*')
  );
}
