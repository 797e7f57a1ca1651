import type { ActualCost } from '../../contract/money.js';
import type { SpendRequest } from '../spend/spend-request.js';

/**
 * A second, shared budget a final must also pass: studio mode's PostgreSQL ledger. It reserves
 * before the local ledger does, and learns how the job ended afterwards. Outside studio mode there
 * is none.
 */
export interface SpendGate {
  /** Throws (budget_exceeded, a policy refusal, offline-blocked) to stop the final before anything is spent. */
  reserve(request: SpendRequest): Promise<void>;
  settle(requestId: string, actual: ActualCost): Promise<void>;
  failBilled(requestId: string, actual: ActualCost, reason: string): Promise<void>;
  release(requestId: string, reason: string): Promise<void>;
}
