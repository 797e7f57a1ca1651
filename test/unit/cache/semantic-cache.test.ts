/**
 * The semantic cache on a real SQLite file. Real prompt embeddings come from the tiny random-weight
 * models through ONNX Runtime: they prove the wiring (dimension, model key, persistence), but their
 * "meaning" is noise, so threshold behaviour is proven with constructed vectors of known cosine.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PipelineEngine } from '../../../native-models/src/pipelines/pipeline-engine.js';
import { AppError } from '../../../src/contract/errors.js';
import type { CacheableRequest } from '../../../src/core/cache/canonical-request.js';
import { embedPrompt, requestSize, SemanticCache, whenLabel, type SuggestOptions } from '../../../src/core/cache/semantic-cache.js';
import { meanVector, normalise, VectorIndex } from '../../../src/core/cache/vector-index.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { ImageStore } from '../../../src/core/images/image-store.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';
import { makePng } from '../images/test-images.js';

const DIM = 768;
const KEY = 'sd15-text-encoder@test';
const ZONE = 'Europe/Berlin';
/** Friday 13 June 2025, 12:00 in Berlin. */
const FRIDAY = Date.parse('2025-06-13T10:00:00Z');
/** Tuesday 10 June 2025, 09:00 in Berlin. */
const TUESDAY = Date.parse('2025-06-10T07:00:00Z');

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296 - 0.5;
  };
}

function randomUnit(dim: number, next: () => number): Float32Array {
  return normalise(Float32Array.from({ length: dim }, next));
}

/** Two random orthonormal vectors `a`, `b`; `at(c)` is the unit vector with cosine `c` to `a`. */
function plane(dim: number, seed: number) {
  const next = rng(seed);
  const a = randomUnit(dim, next);
  const raw = randomUnit(dim, next);
  let along = 0;
  for (let i = 0; i < dim; i += 1) along += (raw[i] ?? 0) * (a[i] ?? 0);
  const b = normalise(raw.map((v, i) => v - along * (a[i] ?? 0)));
  return { a, at: (c: number) => a.map((v, i) => c * v + Math.sqrt(1 - c * c) * (b[i] ?? 0)) };
}

function request(prompt: string, extra: Partial<CacheableRequest> = {}): CacheableRequest {
  return { provider: 'openai', model: 'gpt-image-1', prompt, width: 1024, height: 1024, seed: 7, ...extra };
}

let dir: string;
let cleanup: () => void;
let db: SqliteDatabase;
let store: ImageStore;
let imageIds: string[];
let clock: number;

beforeAll(async () => {
  ({ dir, cleanup } = makeTempDir('imagebench-semantic-'));
  db = openDatabase(dir);
  store = new ImageStore({ dataDir: dir, db });
  imageIds = [];
  for (const seed of [1, 2, 3, 4]) imageIds.push((await store.put(await makePng(32, 32, seed), { source: 'cloud-final' })).image.id);
});
afterAll(() => {
  db.close();
  cleanup();
});
beforeEach(() => {
  clock = TUESDAY;
  db.exec('DELETE FROM semantic_cache_entries; DELETE FROM cache_counters;');
});

const image = (n: number): string => imageIds[n] ?? '';
const options = (extra: Partial<SuggestOptions> = {}): SuggestOptions => ({ modelKey: KEY, threshold: 0.92, limit: 5, timeZone: ZONE, ...extra });

describe('semantic cache: threshold behaviour on vectors of known cosine', () => {
  it('offers entries at or above the threshold, best first, with their exact similarity; not those below', () => {
    const cache = new SemanticCache(db, { now: () => clock });
    const { a, at } = plane(DIM, 11);
    const cosines = [0.8, 0.919, 0.921, 0.95, 0.999];
    const ids = cosines.map((c, n) => cache.store({ modelKey: KEY, embedding: at(c), request: request(`prompt ${c}`), imageIds: [image(n % 4)], costMicros: 40_000 }).entryId);
    // 2000 unrelated entries around them, so the search has a haystack.
    const next = rng(5);
    db.transaction(() => {
      for (let n = 0; n < 2000; n += 1) cache.store({ modelKey: KEY, embedding: randomUnit(DIM, next), request: request(`noise ${n}`), imageIds: [image(0)], costMicros: 1 });
    })();
    clock = FRIDAY;

    const found = cache.suggest(a, options());
    expect(found.map((s) => s.prompt)).toEqual(['prompt 0.999', 'prompt 0.95', 'prompt 0.921']);
    expect(found.map((s) => s.entryId)).toEqual([ids[4], ids[3], ids[2]]);
    expect(found[0]?.similarity).toBeCloseTo(0.999, 5);
    expect(found[1]?.similarity).toBeCloseTo(0.95, 5);
    expect(found[2]?.similarity).toBeCloseTo(0.921, 5);
    // 0.921 and 0.919 are 0.002 apart, closer than int8 quantisation can tell: the exact re-score does.
    expect(found[1]).toMatchObject({ savedMicros: 40_000, savedUsd: 0.04, imageIds: [image(3)], size: '1024x1024', provider: 'openai', model: 'gpt-image-1', createdAt: TUESDAY });
    expect(found[1]?.message).toBe('a 0.95 match from Tuesday, $0.040 saved if you use it');

    expect(cache.suggest(a, options({ limit: 1 })).map((s) => s.prompt)).toEqual(['prompt 0.999']);
    expect(cache.suggest(a, options({ threshold: 0.9995 }))).toEqual([]);
    expect(cache.suggest(a, options({ threshold: 0.7 })).map((s) => s.prompt)).toEqual(['prompt 0.999', 'prompt 0.95', 'prompt 0.921', 'prompt 0.919', 'prompt 0.8']);
  });

  it('filters by provider, model and size when asked', () => {
    const cache = new SemanticCache(db, { now: () => clock });
    const { a, at } = plane(DIM, 12);
    cache.store({ modelKey: KEY, embedding: at(0.97), request: request('openai square'), imageIds: [image(0)], costMicros: 40_000 });
    cache.store({ modelKey: KEY, embedding: at(0.96), request: request('fal wide', { provider: 'fal', model: 'flux-pro', width: 1344, height: 768 }), imageIds: [image(1)], costMicros: 50_000 });
    cache.store({ modelKey: KEY, embedding: at(0.95), request: request('ratio', { provider: 'google', model: 'imagen-4', width: undefined, height: undefined, aspectRatio: '16:9' }), imageIds: [image(2)], costMicros: 30_000 });
    const prompts = (extra: Partial<SuggestOptions>) => cache.suggest(a, options(extra)).map((s) => s.prompt);
    expect(prompts({})).toEqual(['openai square', 'fal wide', 'ratio']);
    expect(prompts({ provider: 'fal' })).toEqual(['fal wide']);
    expect(prompts({ provider: 'openai', model: 'flux-pro' })).toEqual([]);
    expect(prompts({ size: '1024x1024' })).toEqual(['openai square']);
    expect(prompts({ size: requestSize({ aspectRatio: '16:9' }) ?? '' })).toEqual(['ratio']);
    expect(prompts({ provider: 'midjourney' })).toEqual([]);
  });

  it('never compares embeddings of different models, and refuses a second dimension under one key', () => {
    const cache = new SemanticCache(db, { now: () => clock });
    const { a } = plane(DIM, 13);
    cache.store({ modelKey: KEY, embedding: a, request: request('sd15 encoder'), imageIds: [image(0)], costMicros: 40_000 });
    // The very same vector, under another encoder's key: a perfect cosine that must not be seen.
    expect(cache.suggest(a, options({ modelKey: 'sd-turbo-text-encoder@test' }))).toEqual([]);
    const wide = plane(1024, 13).a;
    cache.store({ modelKey: 'sd-turbo-text-encoder@test', embedding: wide, request: request('turbo encoder'), imageIds: [image(1)], costMicros: 10_000 });
    expect(cache.suggest(wide, options({ modelKey: 'sd-turbo-text-encoder@test' })).map((s) => s.prompt)).toEqual(['turbo encoder']);
    expect(cache.suggest(a, options()).map((s) => s.prompt)).toEqual(['sd15 encoder']);

    const mismatch = (fn: () => unknown) => expect(fn).toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(/holds 768-dimension embeddings for "sd15-text-encoder@test", but this one has 1024/) }));
    mismatch(() => cache.store({ modelKey: KEY, embedding: wide, request: request('x'), imageIds: [image(0)], costMicros: 1 }));
    mismatch(() => cache.suggest(wide, options()));
    // The table refuses it too, for a writer that skips the check.
    expect(() =>
      db.prepare("INSERT INTO semantic_cache_entries (embedding_model, dimension, embedding, prompt, provider, model, exact_key, request, cost_micros, created_at) VALUES (?, 3, zeroblob(12), 'p', 'p', 'm', 'k', '{}', 0, 0)").run(KEY),
    ).toThrow(/one dimension/);
  });

  it('rejects unusable input with a hint', () => {
    const cache = new SemanticCache(db, { now: () => clock });
    const zero = new Float32Array(DIM);
    const error = (fn: () => unknown): AppError => {
      try {
        fn();
      } catch (e) {
        if (e instanceof AppError) return e;
        throw e;
      }
      throw new Error('expected an AppError');
    };
    expect(error(() => cache.suggest(zero, options())).message).toMatch(/zero or not a number/);
    expect(error(() => cache.suggest(plane(DIM, 1).a, options({ threshold: 0 }))).hint).toMatch(/cache\.semanticThreshold/);
    expect(error(() => cache.suggest(plane(DIM, 1).a, options({ timeZone: 'Mars/Olympus' }))).hint).toMatch(/IANA/);
    expect(error(() => cache.store({ modelKey: KEY, embedding: plane(DIM, 1).a, request: request('x'), imageIds: ['f'.repeat(64)], costMicros: 1 })).code).toBe('not_found');
    expect(error(() => cache.store({ modelKey: ' ', embedding: plane(DIM, 1).a, request: request('x'), imageIds: [image(0)], costMicros: 1 })).code).toBe('invalid_input');
  });
});

describe('semantic cache: offers, answers and counters', () => {
  it('counts an accepted offer as a hit with the dollars saved and a declined one as a miss, per day', () => {
    const cache = new SemanticCache(db, { now: () => clock });
    const { a, at } = plane(DIM, 21);
    cache.store({ modelKey: KEY, embedding: at(0.97), request: request('lighthouse at dusk'), imageIds: [image(0), image(1)], costMicros: 40_000 });
    cache.store({ modelKey: KEY, embedding: at(0.93), request: request('lighthouse in the evening'), imageIds: [image(2)], costMicros: 80_000 });
    expect(cache.stats()).toEqual({ hits: 0, misses: 0, hitRate: null, savedMicros: 0 });

    clock = FRIDAY;
    const [best, second] = cache.suggest(a, options());
    if (!best || !second) throw new Error('expected two suggestions');
    // Suggesting is not answering: nothing counted, nothing substituted.
    expect(cache.stats().hits + cache.stats().misses).toBe(0);
    const accepted = cache.accept(second.id);
    expect(accepted).toEqual({ suggestionId: second.id, entryId: second.entryId, imageIds: [image(2)], similarity: second.similarity, savedMicros: 80_000, message: 'used a 0.93 match — saved $0.080' });
    expect(cache.accept(second.id)).toEqual(accepted); // a double click counts once
    expect(() => cache.accept(best.id)).toThrow(/already used/);
    expect(() => cache.decline(best.id)).toThrow(/already used/);
    expect(db.prepare('SELECT accepted_count, last_accepted_at FROM semantic_cache_entries WHERE id = ?').get(second.entryId)).toEqual({ accepted_count: 1, last_accepted_at: FRIDAY });

    clock = FRIDAY + 86_400_000;
    const again = cache.suggest(a, options());
    cache.decline(again[0]?.id ?? '');
    cache.decline(again[1]?.id ?? ''); // the same offer: still one miss
    expect(() => cache.accept(again[0]?.id ?? '')).toThrow(/already declined/);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, hitRate: 0.5, savedMicros: 80_000 });
    expect(cache.stats({ sinceDay: '2025-06-14' })).toEqual({ hits: 0, misses: 1, hitRate: 0, savedMicros: 0 });
    expect(db.prepare("SELECT day, hits, misses, saved_micros FROM cache_counters WHERE kind = 'semantic' ORDER BY day").all()).toEqual([
      { day: '2025-06-13', hits: 1, misses: 0, saved_micros: 80_000 },
      { day: '2025-06-14', hits: 0, misses: 1, saved_micros: 0 },
    ]);
    expect(() => cache.accept('no-such-offer')).toThrow(expect.objectContaining({ code: 'not_found', hint: expect.stringMatching(/again/) }));
  });

  it('refuses to accept an entry forgotten after it was offered', () => {
    const cache = new SemanticCache(db, { now: () => clock });
    const { a, at } = plane(DIM, 22);
    const { entryId } = cache.store({ modelKey: KEY, embedding: at(0.99), request: request('gone'), imageIds: [image(0)], costMicros: 40_000 });
    const [offered] = cache.suggest(a, options());
    expect(cache.forget(entryId)).toBe(true);
    expect(() => cache.accept(offered?.id ?? '')).toThrow(expect.objectContaining({ code: 'not_found', message: 'That near match is no longer in the semantic cache.' }));
    expect(cache.stats().hits).toBe(0);
    expect(cache.suggest(a, options())).toEqual([]);
  });

  it('says when in the user\'s time zone: today, yesterday, a weekday, then the date', () => {
    const mondayLateUtc = Date.parse('2025-06-09T23:30:00Z'); // already Tuesday 01:30 in Berlin
    expect(whenLabel(mondayLateUtc, FRIDAY, 'Europe/Berlin')).toBe('Tuesday');
    expect(whenLabel(mondayLateUtc, FRIDAY, 'America/New_York')).toBe('Monday');
    expect(whenLabel(FRIDAY - 3_600_000, FRIDAY, ZONE)).toBe('today');
    expect(whenLabel(FRIDAY - 86_400_000, FRIDAY, ZONE)).toBe('yesterday');
    expect(whenLabel(Date.parse('2025-06-01T12:00:00Z'), FRIDAY, ZONE)).toBe('Jun 1');
    expect(whenLabel(Date.parse('2024-12-30T12:00:00Z'), FRIDAY, ZONE)).toBe('Dec 30, 2024');
  });
});

describe('semantic cache: persistence and other processes', () => {
  it('survives reopening the database: entries, vectors and counters', async () => {
    const fresh = makeTempDir('imagebench-semantic-reopen-');
    let reopened = openDatabase(fresh.dir);
    try {
      const { a, at } = plane(DIM, 31);
      const images = new ImageStore({ dataDir: fresh.dir, db: reopened });
      const id = (await images.put(await makePng(16, 16, 9), { source: 'cloud-final' })).image.id;
      let cache = new SemanticCache(reopened, { now: () => TUESDAY });
      cache.store({ modelKey: KEY, embedding: at(0.96), request: request('kept across restarts'), imageIds: [id], costMicros: 40_000 });
      cache.accept(cache.suggest(a, options())[0]?.id ?? '');
      reopened.close();

      reopened = openDatabase(fresh.dir);
      cache = new SemanticCache(reopened, { now: () => FRIDAY });
      expect(await cache.warmIndex(KEY)).toMatchObject({ entries: 1, dimension: DIM, backend: 'wasm-simd' });
      const [again] = cache.suggest(a, options());
      expect(again).toMatchObject({ prompt: 'kept across restarts', imageIds: [id], savedMicros: 40_000 });
      expect(again?.similarity).toBeCloseTo(0.96, 5);
      expect(cache.stats()).toMatchObject({ hits: 1, savedMicros: 40_000 });
    } finally {
      reopened.close();
      fresh.cleanup();
    }
  });

  it('sees entries another process wrote or forgot after its index was loaded', async () => {
    const mine = new SemanticCache(db, { now: () => clock });
    const theirs = new SemanticCache(db, { now: () => clock });
    const { a, at } = plane(DIM, 32);
    const { entryId } = theirs.store({ modelKey: KEY, embedding: at(0.97), request: request('first'), imageIds: [image(0)], costMicros: 1 });
    theirs.store({ modelKey: KEY, embedding: at(0.5), request: request('far'), imageIds: [image(0)], costMicros: 1 });
    theirs.store({ modelKey: 'other-encoder', embedding: at(0.99), request: request('other encoder'), imageIds: [image(0)], costMicros: 1 });
    // Warmed a row at a time, as the app does while idle.
    expect(await mine.warmIndex(KEY, { chunkRows: 1 })).toMatchObject({ entries: 2, dimension: DIM });
    expect(mine.suggest(a, options()).map((s) => s.prompt)).toEqual(['first']);
    theirs.store({ modelKey: KEY, embedding: at(0.98), request: request('second'), imageIds: [image(1)], costMicros: 1 });
    expect(mine.suggest(a, options()).map((s) => s.prompt)).toEqual(['second', 'first']);
    theirs.forget(entryId);
    expect(mine.suggest(a, options()).map((s) => s.prompt)).toEqual(['second']);
    expect((await mine.warmIndex(KEY))?.entries).toBe(2);
  });
});

describe('semantic cache: the image store keeps what it offers', () => {
  it('never evicts an image a semantic entry points to, says why, and lets it go once forgotten', async () => {
    const fresh = makeTempDir('imagebench-semantic-evict-');
    const evictDb = openDatabase(fresh.dir);
    try {
      let now = 1_000_000;
      const images = new ImageStore({ dataDir: fresh.dir, db: evictDb, now: () => now });
      const put = async (seed: number) => {
        now += 1000;
        return (await images.put(await makePng(64, 64, seed), { source: 'cloud-final' })).image;
      };
      const offered = await put(1);
      const plain = await put(2);
      const cache = new SemanticCache(evictDb, { now: () => now });
      const { entryId } = cache.store({ modelKey: KEY, embedding: plane(DIM, 41).a, request: request('kept'), imageIds: [offered.id], costMicros: 40_000 });

      const capped = new ImageStore({ dataDir: fresh.dir, db: evictDb, maxBytes: 0, now: () => now });
      const report = await capped.evict();
      expect(report.evicted.map((e) => e.id)).toEqual([plain.id]);
      expect(report.kept).toEqual([{ id: offered.id, bytes: offered.bytes, reasons: ['semantic-cache'] }]);
      expect(report.message).toMatch(/Kept 1 image .* 1 offered as near matches \(the semantic cache points to them\)\./);
      expect(capped.get(offered.id)).not.toBeNull();

      cache.forget(entryId);
      expect((await capped.evict()).evicted.map((e) => e.id)).toEqual([offered.id]);
    } finally {
      evictDb.close();
      fresh.cleanup();
    }
  });
});

describe('semantic cache: real prompt embeddings from the tiny local models', () => {
  const engine = new PipelineEngine();
  let models = '';
  let wiringDir: { dir: string; cleanup: () => void };
  let wiringDb: SqliteDatabase;
  beforeAll(() => {
    models = tinyModelsDir();
    wiringDir = makeTempDir('imagebench-semantic-models-');
  });
  afterAll(async () => {
    await engine.dispose();
    wiringDir.cleanup();
  });
  afterEach(() => wiringDb.close());

  it('stores the encoder output with its dimension and model key, finds the same prompt after a restart, and keeps encoders apart', async () => {
    const sd15 = path.join(models, 'sd15');
    const turbo = path.join(models, 'sd-turbo');
    const embed = (dirOfModel: string, prompt: string) => embedPrompt((d, t) => engine.embedText(d, t), dirOfModel, prompt);
    const fox = await embed(sd15, 'a red fox in the snow, watercolour');
    const reworded = await embed(sd15, 'a watercolour of a red fox standing in snow');
    const unrelated = await embed(sd15, 'a brutalist office tower at noon');
    const turboFox = await embed(turbo, 'a red fox in the snow, watercolour');
    // The tiny encoders keep the real output widths: 768 (CLIP ViT-L, SD 1.x) and 1024 (OpenCLIP, SD-Turbo).
    const raw = await engine.embedText(sd15, 'a red fox in the snow, watercolour');
    expect(raw).toHaveLength(768);
    expect(fox).toHaveLength(768);
    expect(turboFox).toHaveLength(1024);

    wiringDb = openDatabase(wiringDir.dir);
    const images = new ImageStore({ dataDir: wiringDir.dir, db: wiringDb });
    const id = (await images.put(await makePng(16, 16, 3), { source: 'cloud-final' })).image.id;
    let cache = new SemanticCache(wiringDb, { now: () => TUESDAY });
    cache.store({ modelKey: 'tiny-sd15', embedding: fox, request: request('a red fox in the snow, watercolour'), imageIds: [id], costMicros: 40_000 });
    cache.store({ modelKey: 'tiny-sd15', embedding: unrelated, request: request('a brutalist office tower at noon'), imageIds: [id], costMicros: 40_000 });
    cache.store({ modelKey: 'tiny-sd-turbo', embedding: turboFox, request: request('a red fox in the snow, watercolour'), imageIds: [id], costMicros: 40_000 });
    expect(wiringDb.prepare('SELECT embedding_model AS key, dimension, length(embedding) AS bytes FROM semantic_cache_entries ORDER BY id').all()).toEqual([
      { key: 'tiny-sd15', dimension: raw.length, bytes: 4 * raw.length },
      { key: 'tiny-sd15', dimension: raw.length, bytes: 4 * raw.length },
      { key: 'tiny-sd-turbo', dimension: turboFox.length, bytes: 4 * turboFox.length },
    ]);
    wiringDb.close();

    wiringDb = openDatabase(wiringDir.dir);
    cache = new SemanticCache(wiringDb, { now: () => FRIDAY });
    // The same prompt typed with other spacing embeds identically (prompts are normalised first).
    const retyped = await embed(sd15, '  a red fox in the snow,\n watercolour ');
    const [same] = cache.suggest(retyped, { modelKey: 'tiny-sd15', threshold: 0.999, limit: 5, timeZone: ZONE });
    expect(same).toMatchObject({ prompt: 'a red fox in the snow, watercolour', imageIds: [id] });
    expect(same?.similarity).toBeCloseTo(1, 5);
    // Random weights: the reworded prompt's scores are whatever the encoder says. What is checked is
    // that they are the exact cosines of the engine's vectors, ranked, with the threshold applied.
    const all = cache.suggest(reworded, { modelKey: 'tiny-sd15', threshold: 0.01, limit: 5, timeZone: ZONE });
    const cosine = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
    const expected = [
      { entryId: 1, similarity: cosine(reworded, fox) },
      { entryId: 2, similarity: cosine(reworded, unrelated) },
    ]
      .filter((e) => e.similarity >= 0.01)
      .sort((x, y) => y.similarity - x.similarity);
    expect(all.map((s) => s.entryId)).toEqual(expected.map((e) => e.entryId));
    all.forEach((s, i) => expect(s.similarity).toBeCloseTo(expected[i]?.similarity ?? Number.NaN, 5));
    // The turbo encoder's vector of the very same prompt (entry 3) is never in an sd15 search, and vice versa.
    expect(cache.suggest(turboFox, { modelKey: 'tiny-sd-turbo', threshold: 0.999, limit: 5, timeZone: ZONE }).map((s) => s.entryId)).toEqual([3]);
  });
});

describe('vector index', () => {
  it('the wasm SIMD scan and the scalar fallback agree with brute force, at every threshold, with deletions, centred or not', () => {
    const next = rng(99);
    const dim = 100; // not a multiple of the 32-wide SIMD block: exercises the padding
    // A clustered set (a shared direction plus noise; pairwise cosines 0.86–0.92), so many rows sit
    // near every threshold below: the hard case for quantised bounds.
    const centre = randomUnit(dim, next);
    const member = (weight: number) => normalise(centre.map((c) => c * weight * Math.sqrt(dim / 12) + next()));
    const vectors = new Map<number, Float32Array>();
    for (let id = 1; id <= 3000; id += 1) vectors.set(id, member(2.5 + (id % 3) * 0.5));
    const mean = meanVector([...vectors.values()].slice(0, 500), dim);
    const indexes = {
      wasm: new VectorIndex(dim),
      wasmCentred: new VectorIndex(dim, { centre: mean }),
      scalarCentred: new VectorIndex(dim, { backend: 'scalar', centre: mean }),
      // A centre far from the rows: every row stays uncentred, answers still exact.
      wasmBadCentre: new VectorIndex(dim, { centre: mean.map((v) => -4 * v) }),
    };
    expect(indexes.wasm.backend).toBe('wasm-simd');
    expect(indexes.scalarCentred.backend).toBe('scalar');
    for (const [id, v] of vectors) for (const index of Object.values(indexes)) index.add(id, v, id % 4);
    for (let id = 1; id <= 3000; id += 7) {
      vectors.delete(id);
      for (const index of Object.values(indexes)) index.remove(id);
    }
    expect(indexes.wasm.size).toBe(vectors.size);
    const exactVector = (id: number) => vectors.get(id) ?? null;
    const work = { aboveThreshold: 0, refined: 0, refinedCentred: 0, exact: 0 };
    for (const minScore of [0.8, 0.86, 0.88, 0.9, 0.92, 0.95]) {
      const query = member(3);
      const above = [...vectors]
        .map(([id, v]) => ({ id, score: v.reduce((s, x, i) => s + x * (query[i] ?? 0), 0) }))
        .filter((m) => m.score >= minScore && m.id % 4 !== 1)
        .sort((x, y) => y.score - x.score);
      const reference = above.slice(0, 10);
      work.aboveThreshold += above.length;
      const groups = new Set([0, 2, 3]);
      for (const index of Object.values(indexes)) expect(index.search(query, { minScore, limit: 10, groups, exactVector })).toEqual(reference);
      expect(indexes.scalarCentred.lastSearch).toEqual(indexes.wasmCentred.lastSearch);
      work.refined += indexes.wasm.lastSearch.refined;
      work.refinedCentred += indexes.wasmCentred.lastSearch.refined;
      work.exact += indexes.wasmCentred.lastSearch.exact;
    }
    // Centring shrinks the rows the coarse bounds cannot decide; pruning by the 10th-best lower bound
    // keeps rows that clear the threshold but cannot make the top 10 out of the residual pass; and
    // float32 reads (SQLite, in the app) stay near the answers themselves (at most 6 × 10 here).
    expect(work.refinedCentred).toBeLessThan(work.refined / 2);
    expect(work.refinedCentred).toBeLessThan(work.aboveThreshold / 10);
    expect(work.exact).toBeLessThan(6 * 10 + 10);
  });
});
