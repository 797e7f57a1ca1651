import { describe, expect, it } from 'vitest';
import { formatEstimate, formatUsd, upperBoundUsd, usdToMicros } from '../../../src/contract/money.js';

describe('money formatting', () => {
  it('prints small prices with enough digits to tell them apart', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.003)).toBe('$0.0030');
    expect(formatUsd(0.053)).toBe('$0.053');
    expect(formatUsd(2.5)).toBe('$2.50');
  });

  it('prints exact, range and unknown estimates', () => {
    expect(formatEstimate({ kind: 'exact', usd: 0.04, basis: '' })).toBe('$0.040');
    expect(formatEstimate({ kind: 'range', minUsd: 0.011, maxUsd: 0.167, basis: '' })).toBe('$0.011–$0.167');
    // A range too narrow to print as two numbers still says it is an upper bound.
    expect(formatEstimate({ kind: 'range', minUsd: 0.053, maxUsd: 0.05301, basis: '' })).toBe('≤ $0.053');
    expect(formatEstimate({ kind: 'unknown', reason: 'x' })).toBe('price unknown');
  });

  it('reserves the upper bound, and has none for an unknown price', () => {
    expect(upperBoundUsd({ kind: 'range', minUsd: 0.01, maxUsd: 0.2, basis: '' })).toBe(0.2);
    expect(upperBoundUsd({ kind: 'unknown', reason: '' })).toBeNull();
    expect(usdToMicros(0.053)).toBe(53_000);
  });
});
