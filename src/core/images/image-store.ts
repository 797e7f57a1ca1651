import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../contract/errors.js';
import { sqliteError, type SqliteDatabase } from '../db/sqlite.js';
import { writeFileAtomic } from './atomic-file.js';
import { embedParameters, GenerationParametersSchema, readParameters, type GenerationParameters } from './generation-parameters.js';
import { evictToCap, type EvictionReport } from './image-eviction.js';
import { DEFAULT_EXPORT_QUALITY, encodeExport, encodeThumbnail, probeImage, type ExportFormat } from './image-renditions.js';

export type ImageSource = 'local-preview' | 'cloud-final' | 'import';

export interface StoredImage {
  /** sha256 of the bytes, hex. */
  id: string;
  mime: string;
  width: number;
  height: number;
  bytes: number;
  source: ImageSource;
  parameters: GenerationParameters | null;
  createdAt: number;
  lastUsedAt: number;
  path: string;
}

export interface PutResult {
  image: StoredImage;
  /** False when these exact bytes were already stored. */
  created: boolean;
  /** Set when storing pushed the store past its cap and eviction ran. */
  eviction: EvictionReport | null;
}

export interface Rendition {
  data: Buffer;
  mime: string;
  width: number;
  height: number;
  /** Where it was written, when it was. */
  path: string | null;
}

export interface ImageStoreOptions {
  dataDir: string;
  db: SqliteDatabase;
  /** The size cap (originals only; thumbnails are small and rebuilt on demand). Null: no cap. */
  maxBytes?: number | null;
  now?: () => number;
}

interface ImageRow {
  id: string;
  mime: string;
  width: number;
  height: number;
  bytes: number;
  source: ImageSource;
  parameters: string | null;
  created_at: number;
  last_used_at: number;
}

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/avif': 'avif', 'image/gif': 'gif' };

/**
 * Content-addressed image files under `<dataDir>/images/<first two hex>/<sha256>.<ext>`, metadata in
 * SQLite. A file is written (atomically) before its row is inserted, so a row always has its whole
 * file; the reverse — a file without a row after a crash — is harmless and is simply overwritten
 * by the next put of the same bytes.
 */
export class ImageStore {
  readonly root: string;
  private readonly db: SqliteDatabase;
  private readonly now: () => number;
  private readonly maxBytes: number | null;

  constructor(options: ImageStoreOptions) {
    this.root = path.join(options.dataDir, 'images');
    this.db = options.db;
    this.now = options.now ?? Date.now;
    this.maxBytes = options.maxBytes ?? null;
  }

  async put(bytes: Uint8Array, meta: { source: ImageSource; parameters?: GenerationParameters | null }): Promise<PutResult> {
    const id = crypto.createHash('sha256').update(bytes).digest('hex');
    const existing = this.get(id);
    if (existing && fs.existsSync(existing.path)) {
      this.touch([id]);
      return { image: this.require(id), created: false, eviction: null };
    }
    const info = await probeImage(bytes);
    // An imported A1111 or ImageBench PNG carries its own parameters; what the caller says wins.
    const parameters = meta.parameters ?? (info.mime === 'image/png' ? readParameters(bytes) : null);
    const file = this.filePath(id, info.mime);
    await writeFileAtomic(file, bytes);
    const at = this.now();
    try {
      this.db
        .prepare(
          `INSERT INTO images (id, mime, width, height, bytes, source, parameters, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET last_used_at = excluded.last_used_at`,
        )
        .run(id, info.mime, info.width, info.height, bytes.byteLength, meta.source, parameters ? JSON.stringify(parameters) : null, at, at);
    } catch (error) {
      throw sqliteError(error, 'record the image');
    }
    const eviction = this.maxBytes !== null && this.totalBytes() > this.maxBytes ? await this.evict(new Set([id])) : null;
    return { image: this.require(id), created: existing === null, eviction };
  }

  get(id: string): StoredImage | null {
    const row = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return row ? this.toImage(row) : null;
  }

  /** Newest first, for the gallery; `before` (ms) pages back in time. */
  list(options: { limit: number; before?: number }): StoredImage[] {
    const rows = this.db
      .prepare('SELECT * FROM images WHERE created_at < ? ORDER BY created_at DESC, id LIMIT ?')
      .all(options.before ?? Number.MAX_SAFE_INTEGER, options.limit) as ImageRow[];
    return rows.map((row) => this.toImage(row));
  }

  /** The original bytes; counts as a use for LRU. */
  async read(id: string): Promise<Buffer> {
    const image = this.require(id);
    this.touch([id]);
    try {
      return await fsp.readFile(image.path);
    } catch (error) {
      throw new AppError('not_found', `The file of image ${id.slice(0, 12)}… is missing from ${this.root}.`, {
        hint: 'It was removed outside ImageBench; render or import it again.',
        cause: error,
      });
    }
  }

  touch(ids: readonly string[]): void {
    const stmt = this.db.prepare('UPDATE images SET last_used_at = ? WHERE id = ?');
    const at = this.now();
    this.db.transaction(() => ids.forEach((id) => stmt.run(at, id)))();
  }

  /** A pinned image stays through any eviction until it is unpinned. */
  pin(id: string): void {
    this.require(id);
    this.db.prepare('INSERT OR IGNORE INTO gallery_pins (image_id, pinned_at) VALUES (?, ?)').run(id, this.now());
  }

  unpin(id: string): void {
    this.db.prepare('DELETE FROM gallery_pins WHERE image_id = ?').run(id);
  }

  totalBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS total FROM images').get() as { total: number }).total;
  }

  /** A WebP thumbnail, built once and kept next to the originals. */
  async thumbnail(id: string, size = 256): Promise<Rendition> {
    this.require(id);
    if (!Number.isInteger(size) || size < 16 || size > 2048) throw new AppError('invalid_input', `Thumbnail size must be 16–2048 pixels, got ${size}.`);
    const file = path.join(this.root, 'thumbs', id.slice(0, 2), `${id}-${size}.webp`);
    if (fs.existsSync(file)) {
      const data = await fsp.readFile(file);
      const info = await probeImage(data);
      return { data, mime: 'image/webp', width: info.width, height: info.height, path: file };
    }
    const encoded = await encodeThumbnail(await this.read(id), size);
    await writeFileAtomic(file, encoded.data);
    return { ...encoded, path: file };
  }

  /**
   * `imagebench export <id> --format webp|avif|png --quality`: re-encoded with sharp; a PNG carries
   * the generation parameters (A1111 text and our JSON). Written atomically when `outPath` is given.
   */
  async export(id: string, options: { format: ExportFormat; quality?: number; outPath?: string }): Promise<Rendition> {
    const image = this.require(id);
    const encoded = await encodeExport(await this.read(id), options.format, options.quality ?? DEFAULT_EXPORT_QUALITY[options.format]);
    const data = options.format === 'png' && image.parameters ? embedParameters(encoded.data, image.parameters) : encoded.data;
    if (options.outPath) await writeFileAtomic(options.outPath, data);
    return { data, mime: encoded.mime, width: encoded.width, height: encoded.height, path: options.outPath ?? null };
  }

  /** Brings the store under its cap (least recently used first), never touching referenced images. */
  async evict(protect: ReadonlySet<string> = new Set()): Promise<EvictionReport> {
    const cap = this.maxBytes ?? Number.MAX_SAFE_INTEGER;
    return evictToCap(this.db, cap, {
      protect,
      deleteFiles: async (id, mime) => {
        await fsp.rm(this.filePath(id, mime), { force: true });
        const thumbs = path.join(this.root, 'thumbs', id.slice(0, 2));
        const names = fs.existsSync(thumbs) ? await fsp.readdir(thumbs) : [];
        await Promise.all(names.filter((n) => n.startsWith(`${id}-`)).map((n) => fsp.rm(path.join(thumbs, n), { force: true })));
      },
    });
  }

  private filePath(id: string, mime: string): string {
    return path.join(this.root, id.slice(0, 2), `${id}.${EXTENSIONS[mime] ?? 'bin'}`);
  }

  private require(id: string): StoredImage {
    // Ids become file names: anything but a sha256 is refused before it reaches a path.
    if (!/^[0-9a-f]{64}$/.test(id)) throw new AppError('invalid_input', `"${id.slice(0, 80)}" is not an image id (a sha256 in hex).`);
    const image = this.get(id);
    if (!image) throw new AppError('not_found', `No image ${id} in the image store.`, { hint: 'List images in the gallery, or import the file first.' });
    return image;
  }

  private toImage(row: ImageRow): StoredImage {
    const parsed = row.parameters ? GenerationParametersSchema.safeParse(JSON.parse(row.parameters)) : null;
    return {
      id: row.id,
      mime: row.mime,
      width: row.width,
      height: row.height,
      bytes: row.bytes,
      source: row.source,
      parameters: parsed?.success ? parsed.data : null,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      path: this.filePath(row.id, row.mime),
    };
  }
}
