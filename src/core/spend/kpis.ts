import type { Kpis } from '../../contract/spend.js';
import { microsToUsd } from '../../contract/money.js';
import type { ExactCache } from '../cache/exact-cache.js';
import type { SqliteDatabase } from '../db/sqlite.js';

export interface LocalRunStats {
  /** Wall-clock durations of completed local previews, in ms. */
  latenciesMs(): number[];
  /** Share of wall time the inference worker was busy, or null before it has run. */
  utilisation(): number | null;
}

/** p95 by the nearest-rank method: the value below which 95% of the samples fall. */
export function p95(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? null;
}

/**
 * The dashboard's numbers, computed from the ledger, the cache counters and the
 * local worker: nothing stored twice, everything derived from real rows.
 */
export function computeKpis(db: SqliteDatabase, cache: ExactCache, local: LocalRunStats, semantic: Kpis['semanticHitRate']): Kpis {
  // Everything billed (refused-but-billed attempts included) over the images it bought: what an image really costs.
  const billed = db
    .prepare(
      `SELECT (SELECT COALESCE(SUM(actual_micros), 0) FROM ledger WHERE status IN ('settled', 'failed-billed')) AS micros,
              (SELECT COUNT(*) FROM ledger_images) AS images`,
    )
    .get() as { micros: number; images: number };
  const perImageMicros = billed.images === 0 ? null : billed.micros / billed.images;

  const rows = db
    .prepare(`SELECT provider, model, finished_at - created_at AS ms FROM ledger WHERE status = 'settled' AND finished_at IS NOT NULL`)
    .all() as Array<{ provider: string; model: string; ms: number }>;
  const byModel = new Map<string, number[]>();
  for (const r of rows) {
    const key = `${r.provider}:${r.model}`;
    byModel.set(key, [...(byModel.get(key) ?? []), r.ms]);
  }
  const cloud = [...byModel].map(([key, ms]) => ({ key, p95Ms: p95(ms) ?? 0, count: ms.length })).sort((a, b) => b.p95Ms - a.p95Ms);
  const localMs = local.latenciesMs();
  const localP95 = p95(localMs);

  const accuracy = db
    .prepare(
      `SELECT AVG(CAST(actual_micros AS REAL) / ((estimate_min_micros + estimate_max_micros) / 2.0)) AS ratio, COUNT(*) AS n
         FROM ledger WHERE status = 'settled' AND estimate_kind != 'unknown' AND estimate_max_micros > 0`,
    )
    .get() as { ratio: number | null; n: number };

  const stats = cache.stats();
  return {
    perImageCostUsd: { cloud: perImageMicros === null ? null : microsToUsd(perImageMicros), local: 0, cloudImages: billed.images },
    p95LatencyMs: { cloud, local: localP95 === null ? null : { key: 'local', p95Ms: localP95, count: localMs.length } },
    cacheHitRate: { hitRate: stats.hitRate, hits: stats.hits, misses: stats.misses, savedUsd: microsToUsd(stats.savedMicros) },
    semanticHitRate: semantic,
    localGpuUtilisation: local.utilisation(),
    estimateAccuracy: { meanRatio: accuracy.ratio, count: accuracy.n },
  };
}
