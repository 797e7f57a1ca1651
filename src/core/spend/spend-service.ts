import { AppError } from '../../contract/errors.js';
import { microsToUsd, usdToMicros } from '../../contract/money.js';
import type { BudgetStatus, Kpis, SpendTotal } from '../../contract/spend.js';
import type { ExactCache } from '../cache/exact-cache.js';
import type { SqliteDatabase } from '../db/sqlite.js';
import { assertTimeZone, type BudgetPeriod } from './periods.js';
import type { BudgetScope, BudgetUsage } from './budgets.js';
import { computeKpis, type LocalRunStats } from './kpis.js';
import { SpendLedger } from './ledger.js';
import { ledgerCsv, spendTotals, type SpendGrouping } from './spend-report.js';

/** This computer's zone, for a `spend.timeZone` setting left empty. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The spend side of the contract: totals, KPIs, CSV and budgets in USD at the
 * border, micro-dollars inside. The ledger follows the time-zone setting.
 */
export class SpendService {
  private current: { zone: string; ledger: SpendLedger } | null = null;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly cache: ExactCache,
    private readonly localRuns: LocalRunStats,
    private readonly timeZoneSetting: () => string,
  ) {}

  get timeZone(): string {
    const zone = this.timeZoneSetting().trim() || systemTimeZone();
    try {
      assertTimeZone(zone);
    } catch (error) {
      throw new AppError('invalid_input', `The spend time zone "${zone}" is not a known IANA zone.`, {
        hint: 'Set spend.timeZone to a zone like Europe/Berlin or America/New_York, or leave it empty for this computer\'s zone.',
        cause: error,
      });
    }
    return zone;
  }

  /** The ledger, rebuilt when the time-zone setting changes so periods are the user's calendar. */
  get ledger(): SpendLedger {
    const zone = this.timeZone;
    if (this.current?.zone !== zone) this.current = { zone, ledger: new SpendLedger(this.db, { timeZone: zone }) };
    return this.current.ledger;
  }

  totals(by: SpendGrouping, since?: string): SpendTotal[] {
    return spendTotals(this.db, { by, since: since ? Date.parse(since) : undefined, timeZone: this.timeZone }).map((t) => ({
      key: t.key,
      billedUsd: microsToUsd(t.billedMicros),
      reservedUsd: microsToUsd(t.reservedMicros),
      requests: t.requests,
    }));
  }

  kpis(semantic: Kpis['semanticHitRate']): Kpis {
    return computeKpis(this.db, this.cache, this.localRuns, semantic);
  }

  csv(since?: string): string {
    return ledgerCsv(this.db, { since: since ? Date.parse(since) : undefined });
  }

  budgets(): BudgetStatus[] {
    return this.ledger.budgets.usage().map(toStatus);
  }

  setBudget(input: { scope: BudgetScope; scopeValue?: string; period: BudgetPeriod; softUsd?: number | null; hardUsd?: number | null }): BudgetStatus[] {
    this.ledger.budgets.set({
      scope: input.scope,
      scopeValue: input.scopeValue,
      period: input.period,
      softMicros: input.softUsd == null ? null : usdToMicros(input.softUsd),
      hardMicros: input.hardUsd == null ? null : usdToMicros(input.hardUsd),
    });
    return this.budgets();
  }

  removeBudget(scope: BudgetScope, scopeValue: string | undefined, period: BudgetPeriod): BudgetStatus[] {
    if (!this.ledger.budgets.remove(scope, scopeValue ?? null, period)) {
      throw new AppError('not_found', `There is no ${period}ly ${scope} budget${scopeValue ? ` for ${scopeValue}` : ''}.`, {
        hint: 'Run `imagebench budget show` to see the budgets.',
      });
    }
    return this.budgets();
  }
}

function toStatus(usage: BudgetUsage): BudgetStatus {
  const b = usage.budget;
  return {
    id: b.id,
    scope: b.scope,
    scopeValue: b.scopeValue,
    period: b.period,
    softUsd: b.softMicros === null ? null : microsToUsd(b.softMicros),
    hardUsd: b.hardMicros === null ? null : microsToUsd(b.hardMicros),
    usedUsd: microsToUsd(usage.usedMicros),
    remainingUsd: usage.remainingMicros === null ? null : microsToUsd(usage.remainingMicros),
    periodStart: new Date(usage.periodStart).toISOString(),
    periodEnd: new Date(usage.periodEnd).toISOString(),
  };
}
