import { AppError } from '../../contract/errors.js';
import { formatUsd, microsToUsd, upperBoundUsd, usdToMicros, type ActualCost, type CostEstimate } from '../../contract/money.js';

/** One paid attempt, as the local ledger and the studio ledger both receive it. */
export interface SpendRequest {
  /** Unique per paid attempt; reserving, settling and releasing are idempotent on it. */
  requestId: string;
  provider: string;
  model: string;
  project?: string;
  member?: string;
  estimate: CostEstimate;
  /** How many images the call makes; the studio's max price per image divides by it. Default 1. */
  images?: number;
  /** An unknown price is refused unless the caller says so and names the most it may cost. */
  allowUnknownPrice?: boolean;
  capMicros?: number;
}

export type LedgerStatus = 'reserved' | 'settled' | 'released' | 'failed-billed';

/** The estimate as stored: integer micros, nulls where the estimate has no bound. */
export interface StoredEstimate {
  kind: CostEstimate['kind'];
  minMicros: number | null;
  maxMicros: number | null;
  basis: string;
}

export interface ReservationAmount {
  reservedMicros: number;
  estimate: StoredEstimate;
}

/**
 * How much to hold for a request: the estimate's upper bound, because a budget must hold even when
 * the call costs the most it can. An unknown price holds the caller's explicit cap.
 */
export function reservationAmount(request: SpendRequest): ReservationAmount {
  if (!request.requestId.trim()) throw new AppError('invalid_input', 'A spend request needs a request id.');
  if (!request.provider.trim() || !request.model.trim()) throw new AppError('invalid_input', 'A spend request needs a provider and a model.');
  const { estimate } = request;
  if (estimate.kind === 'unknown') {
    const cap = request.capMicros;
    if (!request.allowUnknownPrice || cap === undefined) {
      throw new AppError('budget_exceeded', `The price of ${request.provider} ${request.model} is unknown (${estimate.reason}), so nothing was spent.`, {
        hint: 'Allow unknown prices for this request and set the most it may cost, or pick a model with a listed price.',
      });
    }
    assertMicros(cap, 'The cap for an unknown price');
    return { reservedMicros: cap, estimate: { kind: 'unknown', minMicros: null, maxMicros: null, basis: estimate.reason } };
  }
  const upper = usdToMicros(upperBoundUsd(estimate) ?? 0);
  const lower = usdToMicros(estimate.kind === 'exact' ? estimate.usd : estimate.minUsd);
  return { reservedMicros: upper, estimate: { kind: estimate.kind, minMicros: lower, maxMicros: upper, basis: estimate.basis } };
}

export function actualMicros(actual: ActualCost): number {
  const micros = usdToMicros(actual.usd);
  assertMicros(micros, 'An actual cost');
  return micros;
}

function assertMicros(micros: number, what: string): void {
  if (!Number.isSafeInteger(micros) || micros < 0) {
    throw new AppError('invalid_input', `${what} must be a non-negative amount, got ${micros} micro-dollars.`);
  }
}

/** `$0.040` from micros, for messages. */
export function usd(micros: number): string {
  return formatUsd(microsToUsd(micros));
}
