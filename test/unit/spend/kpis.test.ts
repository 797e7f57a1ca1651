import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Kpis } from '../../../src/contract/spend.js';
import { createNodeCore } from '../../../src/core/node-host.js';
import { p95 } from '../../../src/core/spend/kpis.js';
import { makePng } from '../images/test-images.js';
import { makeTempDir } from '../../helpers/tmp.js';

const home = makeTempDir();
afterAll(() => home.cleanup());

describe('p95', () => {
  it('uses the nearest rank', () => {
    expect(p95([])).toBeNull();
    expect(p95([5])).toBe(5);
    expect(p95(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(95);
    expect(p95([10, 1, 1000, 2])).toBe(1000);
  });
});

describe('dashboard numbers from real rows', () => {
  it('derives per-image cost, latency, cache hit rate, accuracy and budgets from the ledger', async () => {
    const core = await createNodeCore('cli', { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: 'ImageBench-kpi-test' });
    try {
      core.settings.set('spend.timeZone', 'Europe/Berlin');
      const empty = await core.dispatcher.dispatch('spend.kpis', {});
      expect(empty).toMatchObject({ ok: true, value: { perImageCostUsd: { cloud: null }, cacheHitRate: { hitRate: null }, estimateAccuracy: { count: 0 } } });

      const ledger = core.spend.ledger;
      const a = (await core.images.put(await makePng(8, 8, 1), { source: 'cloud-final' })).image.id;
      const b = (await core.images.put(await makePng(8, 8, 2), { source: 'cloud-final' })).image.id;
      ledger.reserve({ requestId: 'r1', provider: 'openai', model: 'gpt-image-2', estimate: { kind: 'range', minUsd: 0.04, maxUsd: 0.06, basis: '' } });
      ledger.settle('r1', { usd: 0.05, source: 'provider-reported', basis: 'usage' }, { imageIds: [a] });
      ledger.reserve({ requestId: 'r2', provider: 'bfl', model: 'flux-2-pro', estimate: { kind: 'exact', usd: 0.03, basis: '' } });
      ledger.settle('r2', { usd: 0.03, source: 'provider-reported', basis: 'cost' }, { imageIds: [b] });
      ledger.reserve({ requestId: 'r3', provider: 'stability', model: 'ultra', estimate: { kind: 'exact', usd: 0.08, basis: '' } });
      ledger.failBilled('r3', { usd: 0.08, source: 'price-table', basis: 'filtered output is billed' }, 'moderation');
      core.cache.store({ provider: 'bfl', model: 'flux-2-pro', prompt: 'a fox', width: 1024, height: 1024, seed: 7 }, { imageIds: [b], costMicros: 30_000 });
      core.cache.lookup({ provider: 'bfl', model: 'flux-2-pro', prompt: 'a  fox ', width: 1024, height: 1024, seed: 7 });
      core.cache.lookup({ provider: 'bfl', model: 'flux-2-pro', prompt: 'a fox', width: 1024, height: 1024, seed: 8 });
      core.localRuns.record({ modelId: 'sd-turbo', executionProvider: 'cpu', steps: 1, width: 512, height: 512, status: 'completed', totalMs: 420, imageId: null });

      const result = await core.dispatcher.dispatch('spend.kpis', {});
      expect(result.ok).toBe(true);
      const k = (result as { value: Kpis }).value;
      expect(k.perImageCostUsd.cloud).toBeCloseTo((0.05 + 0.03 + 0.08) / 2, 10);
      expect(k.perImageCostUsd.cloudImages).toBe(2);
      expect(k.p95LatencyMs.cloud.map((c) => c.key).sort()).toEqual(['bfl:flux-2-pro', 'openai:gpt-image-2']);
      expect(k.p95LatencyMs.local).toEqual({ key: 'local', p95Ms: 420, count: 1 });
      expect(k.cacheHitRate).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5, savedUsd: 0.03 });
      expect(k.estimateAccuracy.count).toBe(2);
      expect(k.estimateAccuracy.meanRatio).toBeCloseTo((0.05 / 0.05 + 0.03 / 0.03) / 2, 10);

      const byProvider = await core.dispatcher.dispatch('spend.totals', { by: 'provider' });
      expect(byProvider).toMatchObject({ ok: true });
      expect((byProvider as { value: Array<{ key: string; billedUsd: number }> }).value.find((t) => t.key === 'stability')?.billedUsd).toBe(0.08);

      const budgets = await core.dispatcher.dispatch('budgets.set', { scope: 'global', period: 'month', hardUsd: 1 });
      expect(budgets).toMatchObject({ ok: true, value: [{ scope: 'global', period: 'month', hardUsd: 1, usedUsd: 0.16 }] });
      expect((budgets as { value: Array<{ remainingUsd: number }> }).value[0]?.remainingUsd).toBeCloseTo(0.84, 10);
      const csv = await core.dispatcher.dispatch('spend.csv', {});
      expect((csv as { value: { csv: string } }).value.csv.split('\n')[0]).toContain('request_id');
      expect(await core.dispatcher.dispatch('budgets.remove', { scope: 'provider', scopeValue: 'fal', period: 'day' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    } finally {
      await core.close();
    }
  });
});
