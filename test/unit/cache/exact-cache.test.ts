import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalJson, canonicalRequest, normalisePrompt, type CacheableRequest } from '../../../src/core/cache/canonical-request.js';
import { ExactCache } from '../../../src/core/cache/exact-cache.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { ImageStore } from '../../../src/core/images/image-store.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { makePng } from '../images/test-images.js';

const base: CacheableRequest = {
  provider: 'openai',
  model: 'gpt-image-1',
  prompt: 'A lighthouse at dusk, volumetric light',
  negativePrompt: 'blurry',
  width: 1024,
  height: 1024,
  seed: 42,
  steps: 30,
  imageCount: 1,
  params: { quality: 'high', guidance: 3.5, providerOptions: { background: 'opaque', moderation: 'auto' } },
};

let db: SqliteDatabase;
let cleanup: () => void;
let cache: ExactCache;
let imageId: string;
const clock = Date.parse('2025-06-15T12:00:00Z');

beforeAll(async () => {
  const tmp = makeTempDir('imagebench-cache-');
  cleanup = tmp.cleanup;
  db = openDatabase(tmp.dir);
  const store = new ImageStore({ dataDir: tmp.dir, db });
  imageId = (await store.put(await makePng(32, 32), { source: 'cloud-final' })).image.id;
  cache = new ExactCache(db, { now: () => clock });
  expect(cache.store(base, { imageIds: [imageId], costMicros: 40_000 })).toMatchObject({ stored: true });
});
afterAll(() => {
  cache.close();
  db.close();
  cleanup();
});

describe('exact cache', () => {
  it('hits on the same request, returning the images and what the original paid', () => {
    const hit = cache.lookup(structuredClone(base));
    expect(hit).toMatchObject({ hit: true, imageIds: [imageId], savedMicros: 40_000, message: 'cached — saved $0.040' });
  });

  it('hits when the prompt differs only in spacing, line breaks or Unicode composition', () => {
    const spaced = { ...base, prompt: '  A lighthouse   at\tdusk,\n volumetric light ', negativePrompt: ' blurry ' };
    expect(cache.lookup(spaced).hit).toBe(true);
    const decomposed = { ...base, prompt: 'Cafe\u0301 at dusk' };
    const composed = { ...base, prompt: 'Café at dusk' };
    expect(canonicalRequest(decomposed).key).toBe(canonicalRequest(composed).key);
  });

  it('hits whatever order the parameters were given in', () => {
    const reordered: CacheableRequest = {
      params: { providerOptions: { moderation: 'auto', background: 'opaque' }, guidance: 3.5, quality: 'high' },
      imageCount: 1,
      steps: 30,
      seed: 42,
      height: 1024,
      width: 1024,
      negativePrompt: 'blurry',
      prompt: base.prompt,
      model: 'gpt-image-1',
      provider: 'openai',
    };
    expect(cache.lookup(reordered).hit).toBe(true);
  });

  const changes: Array<[string, Partial<CacheableRequest>]> = [
    ['provider', { provider: 'fal' }],
    ['model', { model: 'gpt-image-1-mini' }],
    ['prompt wording', { prompt: 'A lighthouse at dawn, volumetric light' }],
    ['prompt case (T5 and LLM encoders see it)', { prompt: 'a lighthouse at dusk, volumetric light' }],
    ['negative prompt', { negativePrompt: 'blurry, text' }],
    ['no negative prompt', { negativePrompt: undefined }],
    ['width', { width: 1536 }],
    ['height', { height: 1536 }],
    ['aspect ratio', { aspectRatio: '1:1' }],
    ['seed', { seed: 43 }],
    ['steps', { steps: 28 }],
    ['image count', { imageCount: 2 }],
    ['init image', { initImageSha256: 'ab'.repeat(32) }],
    ['a pixel parameter', { params: { ...base.params, guidance: 4 } }],
    ['a nested provider option', { params: { ...base.params, providerOptions: { background: 'transparent', moderation: 'auto' } } }],
    ['an added parameter', { params: { ...base.params, style: 'vivid' } }],
  ];
  it.each(changes)('misses when the %s changes', (_name, change) => {
    const lookup = cache.lookup({ ...base, ...change });
    expect(lookup).toMatchObject({ hit: false, reason: 'miss' });
  });

  it('treats an empty negative prompt as none', () => {
    expect(canonicalRequest({ ...base, negativePrompt: '' }).key).toBe(canonicalRequest({ ...base, negativePrompt: undefined }).key);
    expect(canonicalRequest({ ...base, negativePrompt: '   ' }).key).toBe(canonicalRequest({ ...base, negativePrompt: undefined }).key);
  });

  it('caches a random-seed request only when the user allows it', () => {
    const random: CacheableRequest = { ...base, seed: undefined, prompt: 'a random fox' };
    expect(cache.lookup(random)).toMatchObject({ hit: false, reason: 'random-seed' });
    expect(cache.store(random, { imageIds: [imageId], costMicros: 40_000 })).toMatchObject({ stored: false });
    expect(cache.lookup(random, { allowRandomSeed: true })).toMatchObject({ hit: false, reason: 'miss' });
    expect(cache.store(random, { imageIds: [imageId], costMicros: 40_000 }, { allowRandomSeed: true })).toMatchObject({ stored: true });
    expect(cache.lookup(random, { allowRandomSeed: true }).hit).toBe(true);
    // A fixed seed is a different request from "random".
    expect(cache.lookup({ ...random, seed: 0 }).hit).toBe(false);
    expect(cache.lookup(random)).toMatchObject({ hit: false, reason: 'random-seed' });
  });

  it('refuses to cache images the store does not have', () => {
    expect(() => cache.store({ ...base, seed: 99 }, { imageIds: ['0'.repeat(64)], costMicros: 1 })).toThrow(/not in the image store/);
  });

  it('keeps the first entry when the same request is stored twice', () => {
    expect(cache.store(base, { imageIds: [imageId], costMicros: 1 })).toMatchObject({ stored: false });
    expect(cache.lookup(base)).toMatchObject({ hit: true, savedMicros: 40_000 });
  });

  it('counts hits, misses and dollars saved per day for the hit-rate KPI', () => {
    const fresh = makeTempDir('imagebench-cache-stats-');
    const statsDb = openDatabase(fresh.dir);
    try {
      let now = Date.parse('2025-06-14T23:00:00Z');
      const counted = new ExactCache(statsDb, { now: () => now });
      expect(counted.stats()).toEqual({ hits: 0, misses: 0, bypassed: 0, hitRate: null, savedMicros: 0 });
      statsDb.prepare(`INSERT INTO images (id, mime, width, height, bytes, source, created_at, last_used_at) VALUES (?, 'image/png', 1, 1, 1, 'cloud-final', 0, 0)`).run('f'.repeat(64));
      counted.lookup(base);
      counted.store(base, { imageIds: ['f'.repeat(64)], costMicros: 40_000 });
      counted.lookup(base);
      now = Date.parse('2025-06-15T01:00:00Z');
      counted.lookup(base);
      counted.lookup(base);
      counted.lookup({ ...base, seed: undefined });
      expect(counted.stats()).toEqual({ hits: 3, misses: 1, bypassed: 1, hitRate: 0.75, savedMicros: 120_000 });
      expect(counted.stats({ sinceDay: '2025-06-15' })).toEqual({ hits: 2, misses: 0, bypassed: 1, hitRate: 1, savedMicros: 80_000 });
      expect(statsDb.prepare('SELECT hit_count FROM cache_entries').pluck().get()).toBe(3);
    } finally {
      statsDb.close();
      fresh.cleanup();
    }
  });
});

describe('counter writes', () => {
  it('keeps lookups read-only and writes the batched counters within a second', () => {
    const fresh = makeTempDir('imagebench-cache-flush-');
    const flushDb = openDatabase(fresh.dir);
    vi.useFakeTimers();
    try {
      const batched = new ExactCache(flushDb, { now: () => clock });
      const counters = () => flushDb.prepare('SELECT hits, misses, bypassed FROM cache_counters').all();
      batched.lookup(base);
      batched.lookup({ ...base, seed: undefined });
      expect(counters()).toEqual([]);
      vi.advanceTimersByTime(1000);
      expect(counters()).toEqual([{ hits: 0, misses: 1, bypassed: 1 }]);
      batched.lookup(base);
      batched.close();
      expect(counters()).toEqual([{ hits: 0, misses: 2, bypassed: 1 }]);
    } finally {
      vi.useRealTimers();
      flushDb.close();
      fresh.cleanup();
    }
  });
});

describe('canonical form', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null }, e: undefined })).toBe('{"a":{"c":null,"d":[3,1]},"b":1}');
  });

  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalRequest({ ...base, params: { guidance: Number.NaN } })).toThrow(/cannot contain the number NaN/);
  });

  it('normalises whitespace and composition but not case', () => {
    expect(normalisePrompt('  Red\u00a0 Fox\n\nin  Snow ')).toBe('Red Fox in Snow');
  });
});
