import { create } from 'zustand';
import type { BudgetStatus, Kpis, SpendTotal } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from './errors.js';

interface SpendState {
  kpis: Kpis | null;
  byDay: SpendTotal[];
  byProvider: SpendTotal[];
  byModel: SpendTotal[];
  budgets: BudgetStatus[];
  error: string | null;
  load(): Promise<void>;
  setBudget(input: { period: 'day' | 'week' | 'month'; softUsd: number | null; hardUsd: number | null }): Promise<void>;
  exportCsv(): Promise<string | null>;
}

function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

export const useSpend = create<SpendState>((set) => ({
  kpis: null,
  byDay: [],
  byProvider: [],
  byModel: [],
  budgets: [],
  error: null,
  async load() {
    try {
      const since = daysAgo(30);
      const [kpis, byDay, byProvider, byModel, budgets] = await Promise.all([
        api.call('spend.kpis', {}),
        api.call('spend.totals', { by: 'day', since }),
        api.call('spend.totals', { by: 'provider', since }),
        api.call('spend.totals', { by: 'model', since }),
        api.call('budgets.list', {}),
      ]);
      set({ kpis, byDay, byProvider, byModel, budgets, error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async setBudget({ period, softUsd, hardUsd }) {
    try {
      set({ budgets: await api.call('budgets.set', { scope: 'global', period, softUsd, hardUsd }), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async exportCsv() {
    try {
      return (await api.call('spend.csv', {})).csv;
    } catch (error) {
      set({ error: describeError(error) });
      return null;
    }
  },
}));
