import { z } from 'zod';

/**
 * Money crosses every layer as one shape. Amounts in the ledger are integer
 * micro-dollars so that sums never drift; prices and estimates are USD numbers
 * because that is how providers publish them.
 */
export const CURRENCY = 'USD' as const;

export const CostEstimateSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('exact'),
    usd: z.number().nonnegative(),
    basis: z.string(),
  }),
  z.object({
    kind: z.literal('range'),
    minUsd: z.number().nonnegative(),
    maxUsd: z.number().nonnegative(),
    basis: z.string(),
  }),
  z.object({
    kind: z.literal('unknown'),
    reason: z.string(),
  }),
]);
export type CostEstimate = z.infer<typeof CostEstimateSchema>;

export const ActualCostSchema = z.object({
  usd: z.number().nonnegative(),
  /** Where the figure came from: the provider's own report, or our price table. */
  source: z.enum(['provider-reported', 'price-table']),
  basis: z.string(),
});
export type ActualCost = z.infer<typeof ActualCostSchema>;

export const MICROS_PER_USD = 1_000_000;

export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/** The most an estimate can cost; what a budget reservation must hold. Unknown has no upper bound. */
export function upperBoundUsd(estimate: CostEstimate): number | null {
  switch (estimate.kind) {
    case 'exact':
      return estimate.usd;
    case 'range':
      return estimate.maxUsd;
    case 'unknown':
      return null;
  }
}

export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(usd < 1 ? 3 : 2)}`;
}

export function formatEstimate(estimate: CostEstimate): string {
  switch (estimate.kind) {
    case 'exact':
      return formatUsd(estimate.usd);
    case 'range': {
      const [min, max] = [formatUsd(estimate.minUsd), formatUsd(estimate.maxUsd)];
      return min === max ? `≤ ${max}` : `${min}–${max}`;
    }
    case 'unknown':
      return 'price unknown';
  }
}
