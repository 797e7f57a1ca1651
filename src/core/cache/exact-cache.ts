import { AppError } from '../../contract/errors.js';
import { formatUsd, microsToUsd } from '../../contract/money.js';
import { sqliteError, type SqliteDatabase } from '../db/sqlite.js';
import { canonicalRequest, type CacheableRequest } from './canonical-request.js';

export type CacheLookup =
  | {
      hit: true;
      key: string;
      imageIds: string[];
      /** What the original render paid; a hit costs nothing, so this is what it saved. */
      savedMicros: number;
      cachedAt: number;
      /** "cached — saved $0.040", for the UI and the CLI. */
      message: string;
    }
  | { hit: false; key: string; reason: 'miss' | 'random-seed' };

export interface CacheStats {
  hits: number;
  misses: number;
  /** Random-seed requests the user did not allow to be cached; not counted in the hit rate. */
  bypassed: number;
  /** hits ÷ (hits + misses); null before the first lookup. */
  hitRate: number | null;
  savedMicros: number;
}

interface EntryRow {
  cost_micros: number;
  created_at: number;
}

const KIND = 'exact';

/** Counter increments not yet written, per UTC day. */
interface PendingCounts {
  hits: number;
  misses: number;
  bypassed: number;
  savedMicros: number;
}

/** Counters reach SQLite at most this long after a lookup. */
const FLUSH_AFTER_MS = 1000;

/**
 * Never pay twice for the same image: a request whose canonical form was rendered before returns
 * the stored image ids at once. Hits, misses and dollars saved are counted per UTC day in SQLite for
 * the "cache hit rate" KPI.
 *
 * A lookup is a read only. Its counter increments are batched and written within a second (and on
 * `flush`, `stats` and `close`): a durable commit per lookup would put an fsync on the path of every
 * render and blow the 1 ms budget on a slow disk, while a crash can lose at most a second of counts.
 */
export class ExactCache {
  private readonly now: () => number;
  private readonly findEntry;
  private readonly findImages;
  private readonly imageExists;
  private readonly insertEntry;
  private readonly linkImage;
  private readonly markHit;
  private readonly count;
  private pendingCounts = new Map<string, PendingCounts>();
  private pendingHits = new Map<string, { count: number; lastAt: number }>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: SqliteDatabase,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.findEntry = db.prepare('SELECT cost_micros, created_at FROM cache_entries WHERE key = ?');
    this.findImages = db.prepare('SELECT image_id FROM cache_entry_images WHERE key = ? ORDER BY position').pluck();
    this.imageExists = db.prepare('SELECT 1 FROM images WHERE id = ?');
    this.insertEntry = db.prepare('INSERT INTO cache_entries (key, provider, model, request, cost_micros, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING');
    this.linkImage = db.prepare('INSERT INTO cache_entry_images (key, position, image_id) VALUES (?, ?, ?)');
    this.markHit = db.prepare('UPDATE cache_entries SET hit_count = hit_count + ?, last_hit_at = MAX(COALESCE(last_hit_at, 0), ?) WHERE key = ?');
    this.count = db.prepare(
      `INSERT INTO cache_counters (day, kind, hits, misses, bypassed, saved_micros) VALUES (?, '${KIND}', ?, ?, ?, ?)
       ON CONFLICT (day, kind) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses,
         bypassed = bypassed + excluded.bypassed, saved_micros = saved_micros + excluded.saved_micros`,
    );
  }

  /** A random-seed request misses with reason `random-seed` unless the user allows caching it. */
  lookup(request: CacheableRequest, options: { allowRandomSeed?: boolean } = {}): CacheLookup {
    const canonical = canonicalRequest(request);
    const at = this.now();
    if (canonical.randomSeed && !options.allowRandomSeed) {
      this.tally(at, { bypassed: 1 });
      return { hit: false, key: canonical.key, reason: 'random-seed' };
    }
    let entry: EntryRow | undefined;
    let imageIds: string[] = [];
    try {
      // One read transaction, so the entry and its images are seen together.
      this.db.transaction(() => {
        entry = this.findEntry.get(canonical.key) as EntryRow | undefined;
        if (entry) imageIds = this.findImages.all(canonical.key) as string[];
      })();
    } catch (error) {
      throw sqliteError(error, 'look up the cache');
    }
    if (!entry) {
      this.tally(at, { misses: 1 });
      return { hit: false, key: canonical.key, reason: 'miss' };
    }
    this.tally(at, { hits: 1, savedMicros: entry.cost_micros });
    const hits = this.pendingHits.get(canonical.key) ?? { count: 0, lastAt: at };
    this.pendingHits.set(canonical.key, { count: hits.count + 1, lastAt: Math.max(hits.lastAt, at) });
    return {
      hit: true,
      key: canonical.key,
      imageIds,
      savedMicros: entry.cost_micros,
      cachedAt: entry.created_at,
      message: `cached — saved ${formatUsd(microsToUsd(entry.cost_micros))}`,
    };
  }

  /**
   * Remembers what a render produced and paid. The images must already be in the image store, which
   * then keeps them for as long as this entry exists. An existing entry for the key is kept.
   */
  store(request: CacheableRequest, result: { imageIds: readonly string[]; costMicros: number }, options: { allowRandomSeed?: boolean } = {}): { key: string; stored: boolean } {
    const canonical = canonicalRequest(request);
    if (canonical.randomSeed && !options.allowRandomSeed) return { key: canonical.key, stored: false };
    if (result.imageIds.length === 0) throw new AppError('invalid_input', 'A cache entry needs at least one image.');
    if (!Number.isSafeInteger(result.costMicros) || result.costMicros < 0) throw new AppError('invalid_input', `A cached cost must be a non-negative amount, got ${result.costMicros}.`);
    return this.write('store the cache entry', () => {
      for (const id of result.imageIds) {
        if (!this.imageExists.get(id)) {
          throw new AppError('not_found', `Image ${id} is not in the image store, so it cannot be cached.`, { hint: 'Store the image before caching it.' });
        }
      }
      const inserted = this.insertEntry.run(canonical.key, request.provider, request.model, canonical.json, result.costMicros, this.now());
      if (inserted.changes === 0) return { key: canonical.key, stored: false };
      result.imageIds.forEach((id, position) => this.linkImage.run(canonical.key, position, id));
      return { key: canonical.key, stored: true };
    });
  }

  /** Drops an entry; its images become evictable unless something else points to them. */
  forget(key: string): boolean {
    return this.write('forget the cache entry', () => this.db.prepare('DELETE FROM cache_entries WHERE key = ?').run(key).changes > 0);
  }

  /** Counters since a UTC day (`YYYY-MM-DD`, inclusive), or all time. */
  stats(options: { sinceDay?: string } = {}): CacheStats {
    this.flush();
    const row = this.db
      .prepare(
        `SELECT COALESCE(SUM(hits), 0) AS hits, COALESCE(SUM(misses), 0) AS misses, COALESCE(SUM(bypassed), 0) AS bypassed,
                COALESCE(SUM(saved_micros), 0) AS saved FROM cache_counters WHERE kind = '${KIND}' AND day >= ?`,
      )
      .get(options.sinceDay ?? '0000-00-00') as { hits: number; misses: number; bypassed: number; saved: number };
    const lookups = row.hits + row.misses;
    return { hits: row.hits, misses: row.misses, bypassed: row.bypassed, hitRate: lookups === 0 ? null : row.hits / lookups, savedMicros: row.saved };
  }

  /** Writes the batched counters now, in one transaction. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pendingCounts.size === 0 && this.pendingHits.size === 0) return;
    const counts = this.pendingCounts;
    const hits = this.pendingHits;
    this.write('record cache counters', () => {
      for (const [day, c] of counts) this.count.run(day, c.hits, c.misses, c.bypassed, c.savedMicros);
      for (const [key, h] of hits) this.markHit.run(h.count, h.lastAt, key);
    });
    // Cleared only once written: a failed flush keeps them for the next attempt.
    this.pendingCounts = new Map();
    this.pendingHits = new Map();
  }

  /** Flushes; call before closing the database. */
  close(): void {
    this.flush();
  }

  private tally(at: number, delta: Partial<PendingCounts>): void {
    const day = new Date(at).toISOString().slice(0, 10);
    const c = this.pendingCounts.get(day) ?? { hits: 0, misses: 0, bypassed: 0, savedMicros: 0 };
    c.hits += delta.hits ?? 0;
    c.misses += delta.misses ?? 0;
    c.bypassed += delta.bypassed ?? 0;
    c.savedMicros += delta.savedMicros ?? 0;
    this.pendingCounts.set(day, c);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushInBackground(), FLUSH_AFTER_MS);
      // Counters alone must not keep a CLI process alive.
      this.flushTimer.unref();
    }
  }

  private flushInBackground(): void {
    try {
      this.flush();
    } catch {
      // A background flush that fails (disk full, database closed) must not crash the app over a
      // KPI counter; the increments stay pending and go with the next flush.
      this.flushTimer = null;
    }
  }

  private write<T>(doing: string, body: () => T): T {
    try {
      return this.db.transaction(body).immediate();
    } catch (error) {
      throw sqliteError(error, doing);
    }
  }
}
