import { useEffect, useState } from 'react';
import { formatUsd, type BudgetStatus, type Kpis } from '../../../src/contract/index.js';
import { Panel } from '../components/Panel.js';
import { SpendBarChart } from '../components/SpendCharts.js';
import { useSpend } from '../store/spend.js';

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(0)}%`);
const ms = (x: number | null | undefined) => (x == null ? '—' : x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

export function SpendScreen() {
  const kpis = useSpend((s) => s.kpis);
  const byDay = useSpend((s) => s.byDay);
  const byProvider = useSpend((s) => s.byProvider);
  const byModel = useSpend((s) => s.byModel);
  const budgets = useSpend((s) => s.budgets);
  const error = useSpend((s) => s.error);
  const load = useSpend((s) => s.load);
  const exportCsv = useSpend((s) => s.exportCsv);

  useEffect(() => {
    void load();
  }, [load]);

  const download = async () => {
    const csv = await exportCsv();
    if (csv === null) return;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    link.download = `imagebench-ledger-${new Date().toISOString().slice(0, 10)}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  };

  return (
    <div className="stack">
      {error && <p className="error">{error}</p>}
      {kpis && <KpiTiles kpis={kpis} />}
      <Panel
        title="Spend, last 30 days"
        actions={
          <button type="button" onClick={() => void download()}>
            Export CSV
          </button>
        }
      >
        <SpendBarChart data={byDay} title="By day" />
        <div className="chart-pair">
          <SpendBarChart data={byProvider} title="By provider" vertical />
          <SpendBarChart data={byModel} title="By model" vertical />
        </div>
      </Panel>
      <BudgetsPanel budgets={budgets} />
    </div>
  );
}

function KpiTiles({ kpis }: { kpis: Kpis }) {
  const slowest = kpis.p95LatencyMs.cloud[0];
  return (
    <div className="kpis" role="list" aria-label="Key numbers">
      <Tile label="Per-image cost" value={kpis.perImageCostUsd.cloud === null ? '—' : formatUsd(kpis.perImageCostUsd.cloud)} note={`cloud, ${kpis.perImageCostUsd.cloudImages} images · local $0`} />
      <Tile
        label="p95 latency"
        value={ms(kpis.p95LatencyMs.local?.p95Ms)}
        note={`local previews${slowest ? ` · cloud ${ms(slowest.p95Ms)} (${slowest.key})` : ''}`}
      />
      <Tile
        label="Cache hit rate"
        value={pct(kpis.cacheHitRate.hitRate)}
        note={`exact ${kpis.cacheHitRate.hits} hits · saved ${formatUsd(kpis.cacheHitRate.savedUsd + kpis.semanticHitRate.savedUsd)} · near matches used ${kpis.semanticHitRate.hits} of ${kpis.semanticHitRate.hits + kpis.semanticHitRate.misses}`}
      />
      <Tile label="Local GPU utilisation" value={pct(kpis.localGpuUtilisation)} note="share of time the preview worker was busy" />
      <Tile
        label="Estimate accuracy"
        value={kpis.estimateAccuracy.meanRatio === null ? '—' : `${kpis.estimateAccuracy.meanRatio.toFixed(2)}×`}
        note={`actual ÷ estimate over ${kpis.estimateAccuracy.count} finals`}
      />
    </div>
  );
}

function Tile({ label, value, note }: { label: string; value: string; note: string }) {
  return (
    <div className="kpi" role="listitem" aria-label={label}>
      <span className="kpi-label">{label}</span>
      <strong className="kpi-value">{value}</strong>
      <span className="muted small">{note}</span>
    </div>
  );
}

function BudgetsPanel({ budgets }: { budgets: BudgetStatus[] }) {
  const setBudget = useSpend((s) => s.setBudget);
  const [soft, setSoft] = useState('');
  const [hard, setHard] = useState('');
  const [period, setPeriod] = useState<'day' | 'week' | 'month'>('month');
  const num = (v: string) => (v.trim() === '' ? null : Number(v));

  return (
    <Panel title="Budgets">
      {budgets.length === 0 && <p className="muted">No budgets yet: set a monthly hard cap so a runaway batch cannot overspend.</p>}
      <ul className="budgets" aria-label="Budget bars">
        {budgets.map((b) => {
          const limit = b.hardUsd ?? b.softUsd ?? 0;
          const share = limit > 0 ? Math.min(1, b.usedUsd / limit) : 0;
          const over = b.softUsd !== null && b.usedUsd >= b.softUsd;
          return (
            <li key={b.id} className="budget">
              <div className="budget-head">
                <strong>
                  {b.period === 'day' ? 'Daily' : b.period === 'week' ? 'Weekly' : 'Monthly'} {b.scope === 'global' ? 'total' : `${b.scope} ${b.scopeValue}`}
                </strong>
                <span>
                  {formatUsd(b.usedUsd)} of {formatUsd(limit)}
                  {b.remainingUsd !== null ? ` · ${formatUsd(b.remainingUsd)} left` : ''}
                </span>
              </div>
              <div className="bar" role="meter" aria-valuemin={0} aria-valuemax={limit} aria-valuenow={b.usedUsd} aria-label={`${b.period} budget`}>
                <div className={over ? 'bar-fill over' : 'bar-fill'} style={{ width: `${share * 100}%` }} />
                {b.softUsd !== null && b.hardUsd !== null && <div className="bar-mark" style={{ left: `${(b.softUsd / b.hardUsd) * 100}%` }} title="soft limit" />}
              </div>
            </li>
          );
        })}
      </ul>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void setBudget({ period, softUsd: num(soft), hardUsd: num(hard) });
        }}
      >
        <select aria-label="Budget period" value={period} onChange={(e) => setPeriod(e.target.value as typeof period)}>
          <option value="day">Daily</option>
          <option value="week">Weekly</option>
          <option value="month">Monthly</option>
        </select>
        <input aria-label="Soft limit (USD)" placeholder="warn at $" inputMode="decimal" value={soft} onChange={(e) => setSoft(e.target.value)} />
        <input aria-label="Hard limit (USD)" placeholder="block at $" inputMode="decimal" value={hard} onChange={(e) => setHard(e.target.value)} />
        <button type="submit" disabled={soft.trim() === '' && hard.trim() === ''}>
          Set budget
        </button>
      </form>
    </Panel>
  );
}
