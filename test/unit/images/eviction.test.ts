import fs from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExactCache } from '../../../src/core/cache/exact-cache.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { ImageStore, type StoredImage } from '../../../src/core/images/image-store.js';
import { SpendLedger } from '../../../src/core/spend/ledger.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { makePng } from './test-images.js';

let images: Buffer[];
beforeAll(async () => {
  images = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => makePng(64, 64, seed)));
});

let dir: string;
let cleanup: () => void;
let db: SqliteDatabase;
let clock: number;
beforeEach(() => {
  ({ dir, cleanup } = makeTempDir('imagebench-evict-'));
  db = openDatabase(dir);
  clock = 1_000_000;
});
afterEach(() => {
  db.close();
  cleanup();
});

/** Stores the six images one tick apart (oldest first) in a store with no cap yet. */
async function fill(): Promise<StoredImage[]> {
  const store = new ImageStore({ dataDir: dir, db, now: () => clock });
  const stored: StoredImage[] = [];
  for (const bytes of images) {
    clock += 1000;
    stored.push((await store.put(bytes, { source: 'local-preview' })).image);
  }
  return stored;
}

const size = (list: StoredImage[]): number => list.reduce((s, i) => s + i.bytes, 0);

describe('LRU eviction under a size cap', () => {
  it('evicts the least recently used first, and a read counts as a use', async () => {
    const [a, b, c, d, e, f] = (await fill()) as [StoredImage, StoredImage, StoredImage, StoredImage, StoredImage, StoredImage];
    const store = new ImageStore({ dataDir: dir, db, maxBytes: size([c, d, e, f]), now: () => clock });
    clock += 1000;
    await store.read(a.id); // a is now the most recently used
    const report = await store.evict();
    expect(report.evicted.map((x) => x.id)).toEqual([b.id, c.id]);
    expect(report.kept).toEqual([]);
    expect(report.message).toBeNull();
    expect(report.bytesAfter).toBeLessThanOrEqual(report.capBytes);
    expect(fs.existsSync(b.path)).toBe(false);
    expect(fs.existsSync(a.path)).toBe(true);
    expect(store.get(b.id)).toBeNull();
  });

  it('never evicts an image the ledger, the cache or a gallery pin points to, and says which and why', async () => {
    const [a, b, c, d, e, f] = (await fill()) as [StoredImage, StoredImage, StoredImage, StoredImage, StoredImage, StoredImage];
    const store = new ImageStore({ dataDir: dir, db, maxBytes: size([f]), now: () => clock });
    const ledger = new SpendLedger(db, { timeZone: 'UTC', now: () => clock });
    ledger.reserve({ requestId: 'final-1', provider: 'openai', model: 'gpt-image-1', estimate: { kind: 'exact', usd: 0.04, basis: 'per image' } });
    ledger.settle('final-1', { usd: 0.04, source: 'provider-reported', basis: 'usage' }, { imageIds: [a.id] });
    new ExactCache(db, { now: () => clock }).store({ provider: 'local', model: 'sd-turbo', prompt: 'fox', seed: 1 }, { imageIds: [b.id], costMicros: 0 });
    store.pin(c.id);
    store.pin(a.id);

    const report = await store.evict();
    // Everything unreferenced goes, oldest first, and the store is still over its cap.
    expect(report.evicted.map((x) => x.id)).toEqual([d.id, e.id, f.id]);
    expect(report.kept).toEqual([
      { id: a.id, bytes: a.bytes, reasons: ['ledger', 'pinned'] },
      { id: b.id, bytes: b.bytes, reasons: ['cache'] },
      { id: c.id, bytes: c.bytes, reasons: ['pinned'] },
    ]);
    expect(report.overCapBytes).toBe(size([a, b, c]) - size([f]));
    expect(report.message).toMatch(/^Kept 3 images \(0\.\d MB\) that would have been evicted: 1 paid for \(the spend ledger points to them\), 1 answering cached requests, 2 pinned in the gallery\./);
    expect(report.message).toMatch(/over its 0\.0 MB cap; unpin images or raise cache\.imageStoreMaxMb/);
    for (const kept of [a, b, c]) expect(fs.existsSync(kept.path)).toBe(true);
    expect(fs.existsSync(f.path)).toBe(false);
    // The database itself refuses to drop a referenced image, whatever the caller does.
    expect(() => db.prepare('DELETE FROM images WHERE id = ?').run(a.id)).toThrow(/FOREIGN KEY/);

    // Unpinned and forgotten by the cache, they become evictable; the paid final never does.
    store.unpin(c.id);
    store.unpin(a.id);
    new ExactCache(db).forget(new ExactCache(db).lookup({ provider: 'local', model: 'sd-turbo', prompt: 'fox', seed: 1 }).key);
    const second = await store.evict();
    expect(second.evicted.map((x) => x.id)).toEqual([b.id, c.id]);
    expect(second.kept).toEqual([{ id: a.id, bytes: a.bytes, reasons: ['ledger'] }]);
  });

  it('keeps the input image of a cloud final that is still running, and lets it go once the final ends', async () => {
    const [a, b] = (await fill()) as [StoredImage, StoredImage];
    const store = new ImageStore({ dataDir: dir, db, maxBytes: 0, now: () => clock });
    const request = JSON.stringify({ provider: 'openai', model: 'gpt-image-2', prompt: 'fox', n: 1, width: 1024, height: 1024, initImage: { imageId: a.id } });
    db.prepare(
      `INSERT INTO final_jobs (id, created_at, updated_at, provider, model, request, estimate, status) VALUES ('job-1', 1, 1, 'openai', 'gpt-image-2', ?, '{}', 'queued')`,
    ).run(request);
    const report = await store.evict();
    expect(report.kept).toEqual([{ id: a.id, bytes: a.bytes, reasons: ['final-job'] }]);
    expect(report.evicted.map((x) => x.id)).toContain(b.id);
    expect(report.message).toContain('1 the input of a cloud final still running');
    db.prepare(`UPDATE final_jobs SET status = 'cancelled' WHERE id = 'job-1'`).run();
    expect((await store.evict()).evicted.map((x) => x.id)).toEqual([a.id]);
  });

  it('evicts on put when the cap is passed, but never the image just stored', async () => {
    const store = new ImageStore({ dataDir: dir, db, maxBytes: 1, now: () => clock });
    const first = await store.put(images[0] as Buffer, { source: 'local-preview' });
    expect(first.eviction?.evicted).toEqual([]);
    clock += 1000;
    const second = await store.put(images[1] as Buffer, { source: 'local-preview' });
    expect(second.eviction?.evicted.map((x) => x.id)).toEqual([first.image.id]);
    expect(fs.existsSync(second.image.path)).toBe(true);
    expect(store.totalBytes()).toBe(second.image.bytes);
  });

  it('removes the thumbnails of an evicted image', async () => {
    const [a] = (await fill()) as [StoredImage];
    const store = new ImageStore({ dataDir: dir, db, maxBytes: store0Bytes() - a.bytes, now: () => clock });
    const thumb = await store.thumbnail(a.id, 64);
    // The thumbnail read touched `a`; make it the oldest again.
    db.prepare('UPDATE images SET last_used_at = 0 WHERE id = ?').run(a.id);
    const report = await store.evict();
    expect(report.evicted.map((x) => x.id)).toEqual([a.id]);
    expect(fs.existsSync(thumb.path ?? '')).toBe(false);
  });
});

function store0Bytes(): number {
  return db.prepare('SELECT SUM(bytes) FROM images').pluck().get() as number;
}
