import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { ExactCache } from '../../src/core/cache/exact-cache.js';
import type { CacheableRequest } from '../../src/core/cache/canonical-request.js';
import { openDatabase, type SqliteDatabase } from '../../src/core/db/sqlite.js';
import { encodeExport, encodeThumbnail } from '../../src/core/images/image-renditions.js';
import { ImageStore } from '../../src/core/images/image-store.js';
import { SpendLedger } from '../../src/core/spend/ledger.js';
import { StudioLedger } from '../../src/core/spend/studio-pg.js';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/tmp.js';

/**
 * Money-and-memory benchmarks, measured in one run on this machine: exact-cache lookups at 100k
 * entries, ledger reserve+settle throughput on SQLite and on a real PostgreSQL with 8 seats, and
 * thumbnail/WebP encode time. Everything it needs (temp files, a PostgreSQL cluster) it starts and
 * removes itself.
 */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** What the issue asks for, e.g. "≤ 1 ms"; null where it sets no target. */
  target: string | null;
}

export interface SpendCacheBenchOptions {
  cacheEntries?: number;
  cacheLookups?: number;
  sqlitePairs?: number;
  pgSeats?: number;
  pgPairsPerSeat?: number;
  images?: number;
}

const estimate = { kind: 'exact', usd: 0.04, basis: 'per image' } as const;
const actual = { usd: 0.035, source: 'provider-reported', basis: 'usage' } as const;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function request(i: number): CacheableRequest {
  return {
    provider: 'openai',
    model: 'gpt-image-1',
    prompt: `a lighthouse at dusk, variation ${i}, volumetric light, film grain`,
    negativePrompt: 'blurry, text',
    width: 1024,
    height: 1024,
    seed: i,
    steps: 30,
    params: { quality: 'high', guidance: 3.5 },
  };
}

async function benchExactCache(db: SqliteDatabase, dataDir: string, entries: number, lookups: number): Promise<BenchRow[]> {
  const store = new ImageStore({ dataDir, db });
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer();
  const { image } = await store.put(tiny, { source: 'cloud-final' });
  const cache = new ExactCache(db);
  const fillStart = performance.now();
  // One outer transaction: each store() becomes a savepoint, so filling 100k entries is one commit.
  db.transaction(() => {
    for (let i = 0; i < entries; i += 1) cache.store(request(i), { imageIds: [image.id], costMicros: 40_000 });
  })();
  const fillMs = performance.now() - fillStart;
  const samples: number[] = [];
  for (let n = 0; n < lookups; n += 1) {
    // Half hits on random entries, half misses on seeds never stored.
    const i = n % 2 === 0 ? Math.floor(Math.random() * entries) : entries + n;
    const started = performance.now();
    cache.lookup(request(i));
    samples.push(performance.now() - started);
  }
  cache.close();
  return [
    { name: `exact cache lookup p50 (${entries / 1000}k entries, counters batched)`, value: round(percentile(samples, 50), 3), unit: 'ms', target: null },
    { name: `exact cache lookup p99 (${entries / 1000}k entries, counters batched)`, value: round(percentile(samples, 99), 3), unit: 'ms', target: '≤ 1 ms' },
    { name: `exact cache fill (${entries / 1000}k entries, one transaction)`, value: round(fillMs / 1000, 2), unit: 's', target: null },
  ];
}

function benchSqliteLedger(db: SqliteDatabase, pairs: number): BenchRow[] {
  const ledger = new SpendLedger(db, { timeZone: 'Europe/Berlin' });
  // Budgets make reserve do its real work: two period sums under the write lock.
  ledger.budgets.set({ scope: 'global', period: 'month', softMicros: 1e12, hardMicros: 2e12 });
  ledger.budgets.set({ scope: 'provider', scopeValue: 'openai', period: 'day', hardMicros: 2e12 });
  const started = performance.now();
  for (let i = 0; i < pairs; i += 1) {
    const requestId = `bench-${i}`;
    ledger.reserve({ requestId, provider: 'openai', model: 'gpt-image-1', estimate });
    ledger.settle(requestId, actual);
  }
  const seconds = (performance.now() - started) / 1000;
  return [{ name: 'ledger reserve+settle on SQLite (1 process, synchronous=FULL, 2 budgets)', value: round(pairs / seconds, 0), unit: 'pairs/s', target: null }];
}

async function benchStudioLedger(seats: number, pairsPerSeat: number): Promise<BenchRow[]> {
  const skip = postgresSkipReason();
  if (skip) return [{ name: `ledger reserve+settle on PostgreSQL (${seats} seats) — skipped: ${skip}`, value: Number.NaN, unit: 'pairs/s', target: null }];
  const server = await startPostgres({ durable: true });
  const locals: Array<{ db: SqliteDatabase; cleanup: () => void }> = [];
  const ledgers: StudioLedger[] = [];
  try {
    const url = await server.createDatabase('bench');
    for (let s = 0; s < seats; s += 1) {
      const { dir, cleanup } = makeTempDir('imagebench-bench-seat-');
      const db = openDatabase(dir);
      locals.push({ db, cleanup });
      ledgers.push(new StudioLedger({ url, studioId: 'bench', member: `member${s % 3}`, seat: `seat${s}`, local: db }));
    }
    await ledgers[0]?.setPolicy({ studioMonthlyCapMicros: 1e12, memberMonthlyLimitMicros: 1e12 });
    await Promise.all(ledgers.map((l) => l.policy()));
    const started = performance.now();
    await Promise.all(
      ledgers.map(async (ledger, s) => {
        for (let i = 0; i < pairsPerSeat; i += 1) {
          const requestId = `bench-${s}-${i}`;
          await ledger.reserve({ requestId, provider: 'openai', model: 'gpt-image-1', estimate });
          await ledger.settle(requestId, actual);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return [{ name: `ledger reserve+settle on PostgreSQL 15 (${seats} seats, row lock, fsync on)`, value: round((seats * pairsPerSeat) / seconds, 0), unit: 'pairs/s', target: null }];
  } finally {
    await Promise.all(ledgers.map((l) => l.close()));
    locals.forEach((l) => {
      l.db.close();
      l.cleanup();
    });
    await server.destroy();
  }
}

async function benchImages(count: number): Promise<BenchRow[]> {
  // A 1024² photo-like image: gradient plus noise, so the encoders do real work.
  const noise = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  const png = await sharp(noise).blur(1.5).png().toBuffer();
  let thumbMs = 0;
  let webpMs = 0;
  for (let i = 0; i < count; i += 1) {
    let started = performance.now();
    await encodeThumbnail(png, 256);
    thumbMs += performance.now() - started;
    started = performance.now();
    await encodeExport(png, 'webp', 90);
    webpMs += performance.now() - started;
  }
  return [
    { name: 'thumbnail 256px WebP from a 1024² PNG', value: round(thumbMs / count, 1), unit: 'ms/image', target: null },
    { name: 'WebP export (q90) of a 1024² PNG', value: round(webpMs / count, 1), unit: 'ms/image', target: null },
    { name: 'thumbnail + WebP export', value: round((thumbMs + webpMs) / count, 1), unit: 'ms/image', target: null },
  ];
}

export async function run(options: SpendCacheBenchOptions = {}): Promise<BenchRow[]> {
  const { dir, cleanup } = makeTempDir('imagebench-bench-');
  const db = openDatabase(dir);
  try {
    return [
      ...(await benchExactCache(db, dir, options.cacheEntries ?? 100_000, options.cacheLookups ?? 20_000)),
      ...benchSqliteLedger(db, options.sqlitePairs ?? 2000),
      ...(await benchStudioLedger(options.pgSeats ?? 8, options.pgPairsPerSeat ?? 250)),
      ...(await benchImages(options.images ?? 10)),
    ];
  } finally {
    db.close();
    cleanup();
  }
}
