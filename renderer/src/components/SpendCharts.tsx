import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatUsd, type SpendTotal } from '../../../src/contract/index.js';

const axis = { fontSize: 11, fill: 'var(--muted)' };

/** Long model ids keep their distinctive end: "replicate:black-forest-labs/flux-schnell" → "…flux-schnell". */
function shortLabel(key: string): string {
  return key.length <= 26 ? key : `…${key.slice(-25)}`;
}

/** Billed spend per key as a bar chart; keys are days, providers or models. */
export function SpendBarChart({ data, title, vertical = false }: { data: SpendTotal[]; title: string; vertical?: boolean }) {
  const rows = data.map((t) => ({ key: t.key || '(none)', billed: t.billedUsd, held: t.reservedUsd }));
  return (
    <figure className="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? (
        <p className="muted small">No spend in the last 30 days.</p>
      ) : (
        <ResponsiveContainer width="100%" height={vertical ? Math.max(120, rows.length * 32) : 200}>
          <BarChart data={rows} layout={vertical ? 'vertical' : 'horizontal'} margin={{ top: 4, right: 12, bottom: 4, left: vertical ? 8 : 0 }}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
            {vertical ? (
              <>
                <XAxis type="number" tick={axis} tickFormatter={(v: number) => formatUsd(v)} />
                <YAxis type="category" dataKey="key" tick={axis} width={170} tickFormatter={shortLabel} />
              </>
            ) : (
              <>
                <XAxis dataKey="key" tick={axis} />
                <YAxis tick={axis} tickFormatter={(v: number) => formatUsd(v)} width={60} />
              </>
            )}
            <Tooltip formatter={(v) => formatUsd(Number(v))} contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)' }} />
            <Bar dataKey="billed" name="Billed" stackId="s" fill="var(--accent)" isAnimationActive={false} />
            <Bar dataKey="held" name="Held for running jobs" stackId="s" fill="var(--warn)" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
