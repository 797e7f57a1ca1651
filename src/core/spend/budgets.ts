import { AppError } from '../../contract/errors.js';
import type { SqliteDatabase } from '../db/sqlite.js';
import { assertTimeZone, localDateTimeLabel, nextPeriodStart, periodLabel, periodStart, type BudgetPeriod } from './periods.js';
import { usd } from './spend-request.js';

export type BudgetScope = 'global' | 'provider' | 'project';

export interface BudgetInput {
  scope: BudgetScope;
  /** Provider id or project name; omitted for a global budget. */
  scopeValue?: string;
  period: BudgetPeriod;
  /** Warn once spend (settled + reserved) passes this. */
  softMicros?: number | null;
  /** Refuse a reservation that would pass this. */
  hardMicros?: number | null;
}

export interface Budget {
  id: number;
  scope: BudgetScope;
  scopeValue: string | null;
  period: BudgetPeriod;
  softMicros: number | null;
  hardMicros: number | null;
  updatedAt: number;
}

export interface BudgetUsage {
  budget: Budget;
  periodStart: number;
  periodEnd: number;
  /** Settled and failed-billed actuals plus open reservations, in this period. */
  usedMicros: number;
  /** Under the hard limit; null without one. Never negative. */
  remainingMicros: number | null;
}

export interface BudgetWarning {
  budget: Budget;
  usedMicros: number;
  message: string;
}

interface BudgetRow {
  id: number;
  scope: BudgetScope;
  scope_value: string;
  period: BudgetPeriod;
  soft_micros: number | null;
  hard_micros: number | null;
  updated_at: number;
}

/** Spend that counts against a budget: what was billed, plus what is held for calls still running. */
export const COUNTED_MICROS_SQL = `CASE status WHEN 'reserved' THEN reserved_micros WHEN 'released' THEN 0 ELSE actual_micros END`;

/**
 * Local budgets: global, per provider and per project, each per calendar day, week or month in the
 * user's time zone. `check` runs inside the ledger's write transaction, so the sums it reads cannot
 * change before the reservation it approves is inserted.
 */
export class Budgets {
  private readonly now: () => number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly options: { timeZone: string; now?: () => number },
  ) {
    assertTimeZone(options.timeZone);
    this.now = options.now ?? Date.now;
  }

  set(input: BudgetInput): Budget {
    const scopeValue = input.scope === 'global' ? '' : (input.scopeValue ?? '').trim();
    if (input.scope !== 'global' && !scopeValue) throw new AppError('invalid_input', `A ${input.scope} budget needs a ${input.scope} name.`);
    const soft = input.softMicros ?? null;
    const hard = input.hardMicros ?? null;
    for (const value of [soft, hard]) {
      if (value !== null && (!Number.isSafeInteger(value) || value < 0)) throw new AppError('invalid_input', `A budget limit must be a non-negative amount, got ${value}.`);
    }
    if (soft === null && hard === null) throw new AppError('invalid_input', 'A budget needs a soft limit, a hard limit, or both.', { hint: 'To drop a budget, remove it instead.' });
    this.db
      .prepare(
        `INSERT INTO budgets (scope, scope_value, period, soft_micros, hard_micros, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, scope_value, period) DO UPDATE SET soft_micros = excluded.soft_micros, hard_micros = excluded.hard_micros, updated_at = excluded.updated_at`,
      )
      .run(input.scope, scopeValue, input.period, soft, hard, this.now());
    const row = this.db.prepare('SELECT * FROM budgets WHERE scope = ? AND scope_value = ? AND period = ?').get(input.scope, scopeValue, input.period) as BudgetRow;
    return toBudget(row);
  }

  remove(scope: BudgetScope, scopeValue: string | null, period: BudgetPeriod): boolean {
    return this.db.prepare('DELETE FROM budgets WHERE scope = ? AND scope_value = ? AND period = ?').run(scope, scopeValue ?? '', period).changes > 0;
  }

  list(): Budget[] {
    return (this.db.prepare('SELECT * FROM budgets ORDER BY scope, scope_value, period').all() as BudgetRow[]).map(toBudget);
  }

  /** Every budget with what its current period has used: `budget show` and the budget bars. */
  usage(at: number = this.now()): BudgetUsage[] {
    return this.list().map((budget) => this.usageOf(budget, at));
  }

  /**
   * Throws `budget_exceeded` when `amountMicros` more would pass any hard limit that applies to this
   * provider and project; otherwise returns a warning for every soft limit it would pass.
   */
  check(candidate: { provider: string; project?: string | undefined; amountMicros: number }, at: number = this.now()): BudgetWarning[] {
    const applicable = (this.db
      .prepare(
        `SELECT * FROM budgets WHERE scope = 'global' OR (scope = 'provider' AND scope_value = ?) OR (scope = 'project' AND scope_value = ?)
         ORDER BY hard_micros IS NULL, scope, period`,
      )
      .all(candidate.provider, candidate.project ?? null) as BudgetRow[]).map(toBudget);
    const warnings: BudgetWarning[] = [];
    for (const budget of applicable) {
      const usage = this.usageOf(budget, at);
      const after = usage.usedMicros + candidate.amountMicros;
      if (budget.hardMicros !== null && after > budget.hardMicros) throw this.blocked(usage, candidate.amountMicros);
      if (budget.softMicros !== null && after > budget.softMicros) {
        warnings.push({
          budget,
          usedMicros: usage.usedMicros,
          message: `Past the ${describe(budget)} soft limit of ${usd(budget.softMicros)}: ${usd(after)} spent or reserved ${periodLabel(budget.period)} with this request.`,
        });
      }
    }
    return warnings;
  }

  private usageOf(budget: Budget, at: number): BudgetUsage {
    const start = periodStart(budget.period, at, this.options.timeZone);
    const end = nextPeriodStart(budget.period, at, this.options.timeZone);
    const filter = budget.scope === 'provider' ? 'AND provider = ?' : budget.scope === 'project' ? 'AND project = ?' : '';
    const params: Array<string | number> = [start, end];
    if (budget.scopeValue !== null) params.push(budget.scopeValue);
    const row = this.db
      .prepare(`SELECT COALESCE(SUM(${COUNTED_MICROS_SQL}), 0) AS used FROM ledger WHERE created_at >= ? AND created_at < ? ${filter}`)
      .get(...params) as { used: number };
    const remaining = budget.hardMicros === null ? null : Math.max(0, budget.hardMicros - row.used);
    return { budget, periodStart: start, periodEnd: end, usedMicros: row.used, remainingMicros: remaining };
  }

  private blocked(usage: BudgetUsage, amountMicros: number): AppError {
    const { budget } = usage;
    const resetAt = localDateTimeLabel(usage.periodEnd, this.options.timeZone);
    return new AppError(
      'budget_exceeded',
      `This request may cost up to ${usd(amountMicros)}, which would pass the ${describe(budget)} hard limit of ${usd(budget.hardMicros ?? 0)}: ` +
        `${usd(usage.usedMicros)} is already spent or reserved ${periodLabel(budget.period)}, ${usd(usage.remainingMicros ?? 0)} remains.`,
      { hint: `Raise the limit with \`imagebench budget set\`, wait until it resets at ${resetAt} (${this.options.timeZone}), or pick a cheaper model.` },
    );
  }
}

function describe(budget: Budget): string {
  const period = budget.period === 'day' ? 'daily' : `${budget.period}ly`;
  if (budget.scope === 'global') return `overall ${period}`;
  return budget.scope === 'provider' ? `${period} ${budget.scopeValue}` : `${period} project "${budget.scopeValue}"`;
}

function toBudget(row: BudgetRow): Budget {
  return {
    id: row.id,
    scope: row.scope,
    scopeValue: row.scope === 'global' ? null : row.scope_value,
    period: row.period,
    softMicros: row.soft_micros,
    hardMicros: row.hard_micros,
    updatedAt: row.updated_at,
  };
}
