import sharp, { type Metadata } from 'sharp';
import { AppError } from '../../contract/errors.js';

/** Everything the store does with sharp: recognising an image, thumbnails, exports. */

export type ExportFormat = 'webp' | 'avif' | 'png';

export interface ImageInfo {
  mime: string;
  extension: string;
  width: number;
  height: number;
}

export interface EncodedImage {
  data: Buffer;
  mime: string;
  width: number;
  height: number;
}

const KNOWN: Record<string, { mime: string; extension: string }> = {
  png: { mime: 'image/png', extension: 'png' },
  jpeg: { mime: 'image/jpeg', extension: 'jpg' },
  webp: { mime: 'image/webp', extension: 'webp' },
  avif: { mime: 'image/avif', extension: 'avif' },
  gif: { mime: 'image/gif', extension: 'gif' },
};

/** Reads the header only; refuses anything that is not an image format we keep. */
export async function probeImage(bytes: Uint8Array): Promise<ImageInfo> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch (error) {
    throw new AppError('invalid_input', 'These bytes are not an image ImageBench can read.', { hint: 'Import PNG, JPEG, WebP, AVIF or GIF files.', cause: error });
  }
  // sharp reports AVIF as the HEIF container; its compression says which codec is inside.
  const format = metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : metadata.format;
  const known = format ? KNOWN[format] : undefined;
  if (!known || !metadata.width || !metadata.height) {
    throw new AppError('invalid_input', `Images in ${format ?? 'this'} format are not kept by the image store.`, { hint: 'Import PNG, JPEG, WebP, AVIF or GIF files.' });
  }
  return { ...known, width: metadata.width, height: metadata.height };
}

/** A WebP no larger than `size` on its longer side; small images are not enlarged. */
export async function encodeThumbnail(bytes: Uint8Array, size: number): Promise<EncodedImage> {
  const { data, info } = await sharp(bytes)
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80, effort: 2 })
    .toBuffer({ resolveWithObject: true });
  return { data, mime: 'image/webp', width: info.width, height: info.height };
}

/**
 * Re-encodes for export. Quality 1–100 applies to WebP and AVIF; PNG is lossless and ignores it.
 * sharp drops the source's metadata by default, which is what an export should do: the PNG gets our
 * generation parameters back from the caller, nothing else leaks (no EXIF location, no ICC surprises).
 */
export async function encodeExport(bytes: Uint8Array, format: ExportFormat, quality: number): Promise<EncodedImage> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new AppError('invalid_input', `Export quality must be a whole number from 1 to 100, got ${quality}.`);
  }
  const image = sharp(bytes).rotate();
  const encoder =
    format === 'webp' ? image.webp({ quality, effort: 4 }) : format === 'avif' ? image.avif({ quality, effort: 3 }) : image.png({ compressionLevel: 9, adaptiveFiltering: true });
  const { data, info } = await encoder.toBuffer({ resolveWithObject: true });
  return { data, mime: format === 'png' ? 'image/png' : `image/${format}`, width: info.width, height: info.height };
}

/** Default qualities: visually lossless for WebP; AVIF reaches the same look at a lower number. */
export const DEFAULT_EXPORT_QUALITY: Record<ExportFormat, number> = { webp: 90, avif: 60, png: 100 };
