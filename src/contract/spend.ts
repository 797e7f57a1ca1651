import { z } from 'zod';

export const BudgetScopeSchema = z.enum(['global', 'provider', 'project']);
export const BudgetPeriodSchema = z.enum(['day', 'week', 'month']);

export const BudgetStatusSchema = z.object({
  id: z.number().int(),
  scope: BudgetScopeSchema,
  scopeValue: z.string().nullable(),
  period: BudgetPeriodSchema,
  softUsd: z.number().nullable(),
  hardUsd: z.number().nullable(),
  /** Billed plus held by reservations in the current period. */
  usedUsd: z.number(),
  remainingUsd: z.number().nullable(),
  periodStart: z.string(),
  periodEnd: z.string(),
});
export type BudgetStatus = z.infer<typeof BudgetStatusSchema>;

export const BudgetSetSchema = z
  .object({
    scope: BudgetScopeSchema,
    scopeValue: z.string().min(1).optional(),
    period: BudgetPeriodSchema,
    softUsd: z.number().nonnegative().nullable().optional(),
    hardUsd: z.number().nonnegative().nullable().optional(),
  })
  .strict()
  .refine((b) => (b.scope === 'global') === (b.scopeValue === undefined), { message: 'a provider or project budget names its provider or project; a global one names none' })
  .refine((b) => b.softUsd != null || b.hardUsd != null, { message: 'give a soft limit, a hard limit, or both' });

export const SpendTotalSchema = z.object({
  key: z.string(),
  billedUsd: z.number(),
  reservedUsd: z.number(),
  requests: z.number().int(),
});
export type SpendTotal = z.infer<typeof SpendTotalSchema>;

export const SpendQuerySchema = z
  .object({
    by: z.enum(['day', 'provider', 'model', 'project']).default('day'),
    /** ISO date or date-time; only spend from then on. */
    since: z.iso.date().or(z.iso.datetime()).optional(),
  })
  .strict();

const LatencySchema = z.object({ key: z.string(), p95Ms: z.number(), count: z.number().int() });

/** The four numbers the product lives by, plus estimate accuracy. Null where there is no data yet. */
export const KpisSchema = z.object({
  perImageCostUsd: z.object({ cloud: z.number().nullable(), local: z.literal(0), cloudImages: z.number().int() }),
  p95LatencyMs: z.object({ cloud: z.array(LatencySchema), local: LatencySchema.nullable() }),
  cacheHitRate: z.object({ hitRate: z.number().nullable(), hits: z.number().int(), misses: z.number().int(), savedUsd: z.number() }),
  /** Near matches offered by the semantic cache: accepted offers are hits, declined ones misses. */
  semanticHitRate: z.object({ hitRate: z.number().nullable(), hits: z.number().int(), misses: z.number().int(), savedUsd: z.number() }),
  /** Share of wall time the local inference worker was busy since it started. */
  localGpuUtilisation: z.number().min(0).max(1).nullable(),
  /** Mean of actual ÷ estimate over settled finals (1 = estimates were right). */
  estimateAccuracy: z.object({ meanRatio: z.number().nullable(), count: z.number().int() }),
});
export type Kpis = z.infer<typeof KpisSchema>;
