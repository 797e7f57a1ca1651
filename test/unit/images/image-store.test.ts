import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { readParameters, type GenerationParameters } from '../../../src/core/images/generation-parameters.js';
import { ImageStore } from '../../../src/core/images/image-store.js';
import { listFiles, makeTempDir } from '../../helpers/tmp.js';
import { makePng } from './test-images.js';

const params: GenerationParameters = { prompt: 'a red fox in snow', provider: 'local', model: 'sd-turbo', seed: 7, steps: 1, width: 256, height: 256 };

let photo: Buffer;
beforeAll(async () => {
  photo = await makePng(256, 192, 3);
});

let dir: string;
let cleanup: () => void;
let db: SqliteDatabase;
let store: ImageStore;
beforeEach(() => {
  ({ dir, cleanup } = makeTempDir('imagebench-images-'));
  db = openDatabase(dir);
  store = new ImageStore({ dataDir: dir, db });
});
afterEach(() => {
  db.close();
  cleanup();
});

describe('storing images', () => {
  it('stores bytes under their sha256 in a sharded folder, with metadata', async () => {
    const { image, created, eviction } = await store.put(photo, { source: 'local-preview', parameters: params });
    const sha = crypto.createHash('sha256').update(photo).digest('hex');
    expect(created).toBe(true);
    expect(eviction).toBeNull();
    expect(image).toMatchObject({ id: sha, mime: 'image/png', width: 256, height: 192, bytes: photo.length, source: 'local-preview', parameters: params });
    expect(image.path).toBe(path.join(dir, 'images', sha.slice(0, 2), `${sha}.png`));
    expect(fs.readFileSync(image.path).equals(photo)).toBe(true);
    expect(await store.read(sha)).toEqual(photo);
  });

  it('stores the same bytes once', async () => {
    const first = await store.put(photo, { source: 'cloud-final' });
    const second = await store.put(Buffer.from(photo), { source: 'import' });
    expect(second.created).toBe(false);
    expect(second.image.id).toBe(first.image.id);
    expect(db.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(1);
    expect(listFiles(path.join(dir, 'images'))).toHaveLength(1);
  });

  it('keeps the generation parameters an imported PNG carries', async () => {
    const exported = await (async () => {
      const { image } = await store.put(photo, { source: 'local-preview', parameters: params });
      return store.export(image.id, { format: 'png' });
    })();
    const other = makeTempDir('imagebench-images-import-');
    const otherDb = openDatabase(other.dir);
    try {
      const imported = await new ImageStore({ dataDir: other.dir, db: otherDb }).put(exported.data, { source: 'import' });
      expect(imported.image.parameters).toEqual(params);
    } finally {
      otherDb.close();
      other.cleanup();
    }
  });

  it('refuses bytes that are not an image, leaving nothing behind', async () => {
    await expect(store.put(Buffer.from('definitely not an image'), { source: 'import' })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(db.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(0);
    expect(listFiles(path.join(dir, 'images'))).toEqual([]);
  });

  it('refuses an id that is not a sha256 before it reaches a path', async () => {
    await expect(store.read('../../etc/passwd')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(store.thumbnail('../x')).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('thumbnails and exports', () => {
  it('makes a WebP thumbnail that keeps the aspect ratio and is built once', async () => {
    const { image } = await store.put(photo, { source: 'local-preview' });
    const thumb = await store.thumbnail(image.id, 128);
    expect(thumb).toMatchObject({ mime: 'image/webp', width: 128, height: 96 });
    expect((await sharp(thumb.data).metadata()).format).toBe('webp');
    expect(thumb.path && fs.existsSync(thumb.path)).toBe(true);
    const mtime = fs.statSync(thumb.path ?? '').mtimeMs;
    expect((await store.thumbnail(image.id, 128)).data.equals(thumb.data)).toBe(true);
    expect(fs.statSync(thumb.path ?? '').mtimeMs).toBe(mtime);
    // A small image is not enlarged.
    expect(await store.thumbnail(image.id, 512)).toMatchObject({ width: 256, height: 192 });
  });

  it('exports WebP, AVIF and PNG with sane sizes, and the PNG carries the parameters', async () => {
    const { image } = await store.put(photo, { source: 'cloud-final', parameters: params });
    const webp = await store.export(image.id, { format: 'webp', quality: 80 });
    const webpLow = await store.export(image.id, { format: 'webp', quality: 30 });
    const avif = await store.export(image.id, { format: 'avif', quality: 50 });
    const png = await store.export(image.id, { format: 'png' });
    for (const [out, format] of [[webp, 'webp'], [avif, 'heif'], [png, 'png']] as const) {
      const meta = await sharp(out.data).metadata();
      expect(meta.format).toBe(format);
      expect([meta.width, meta.height]).toEqual([256, 192]);
    }
    expect(avif.mime).toBe('image/avif');
    // Lossy formats beat the lossless original on a photo-like image; lower quality is smaller.
    expect(webp.data.length).toBeLessThan(photo.length);
    expect(avif.data.length).toBeLessThan(photo.length);
    expect(webpLow.data.length).toBeLessThan(webp.data.length);
    expect(webp.data.length).toBeGreaterThan(500);
    expect(readParameters(png.data)).toEqual(params);
  });

  it('writes an export atomically to the path asked for, and checks the quality', async () => {
    const { image } = await store.put(photo, { source: 'local-preview' });
    const outDir = makeTempDir('imagebench-export-');
    try {
      const outPath = path.join(outDir.dir, 'fox.webp');
      const result = await store.export(image.id, { format: 'webp', quality: 75, outPath });
      expect(result.path).toBe(outPath);
      expect(fs.readFileSync(outPath).equals(result.data)).toBe(true);
      expect(fs.readdirSync(outDir.dir)).toEqual(['fox.webp']);
    } finally {
      outDir.cleanup();
    }
    await expect(store.export(image.id, { format: 'avif', quality: 0 })).rejects.toThrow(/quality must be a whole number from 1 to 100/);
  });
});

/** A 1 MiB tmpfs as the data directory: a real ENOSPC, not a simulated one. Needs root and mount. */
function mountTinyDisk(): { dir: string; unmount: () => void } | null {
  if (process.getuid?.() !== 0) return null;
  const { dir, cleanup } = makeTempDir('imagebench-full-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  if (mounted.status !== 0) {
    cleanup();
    return null;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      cleanup();
    },
  };
}

describe('a full disk', () => {
  it('says what to do, and registers nothing half-written', async (ctx) => {
    const disk = mountTinyDisk();
    if (!disk) {
      ctx.skip('mounting a tmpfs needs root and mount permission');
      return;
    }
    const fullDb = openDatabase(disk.dir);
    try {
      const small = new ImageStore({ dataDir: disk.dir, db: fullDb });
      await small.put(await makePng(64, 64, 9), { source: 'local-preview' });
      const big = await makePng(1024, 1024, 11); // ~3 MB of noisy PNG: more than the disk has left
      let caught: unknown;
      try {
        await small.put(big, { source: 'cloud-final' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('disk_full');
      expect((caught as AppError).message).toMatch(/The disk is full: could not save \d+\.\d MB to /);
      expect((caught as AppError).hint).toMatch(/Free some disk space, lower cache.imageStoreMaxMb/);
      expect(fullDb.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(1);
      const leftovers = listFiles(path.join(disk.dir, 'images')).filter((f) => f.endsWith('.tmp'));
      expect(leftovers).toEqual([]);
    } finally {
      fullDb.close();
      disk.unmount();
    }
  });
});
