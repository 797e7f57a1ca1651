import { malformed, readBytes, send, type Dialect } from './http.js';
import { withRetry } from './retry.js';
import type { GeneratedImage, ProviderContext } from './types.js';

/** Reads the format from the bytes themselves; a provider's content-type is a claim, not a fact. */
export function sniffImageMime(bytes: Uint8Array): string | undefined {
  const starts = (...sig: number[]): boolean => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) {
    return 'image/webp';
  }
  return undefined;
}

export function imageFromBytes(dialect: Dialect, bytes: Uint8Array, what: string, seed?: number): GeneratedImage {
  const mime = sniffImageMime(bytes);
  if (!mime) throw malformed(dialect, what, `expected PNG, JPEG or WebP bytes, got ${bytes.length} bytes of something else`);
  return seed === undefined ? { bytes, mime } : { bytes, mime, seed };
}

export function imageFromBase64(dialect: Dialect, base64: string, what: string, seed?: number): GeneratedImage {
  const payload = base64.startsWith('data:') ? base64.slice(base64.indexOf(',') + 1) : base64;
  return imageFromBytes(dialect, new Uint8Array(Buffer.from(payload, 'base64')), what, seed);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function toDataUri(bytes: Uint8Array, mime: string): string {
  return `data:${mime};base64,${toBase64(bytes)}`;
}

export function toBlob(bytes: Uint8Array, mime: string): Blob {
  return new Blob([new Uint8Array(bytes)], { type: mime });
}

/**
 * Fetches a result URL the moment it is known (Replicate 1 h, BFL 10 min, DALL·E 60 min, Ideogram 24 h).
 * Signed CDN URLs get no auth header: the key never leaves for a host that did not ask for it.
 */
export async function downloadImage(
  dialect: Dialect,
  ctx: ProviderContext,
  url: string,
  seed?: number,
  headers: Record<string, string> = {},
): Promise<GeneratedImage> {
  if (url.startsWith('data:')) return imageFromBase64(dialect, url, 'image data URI', seed);
  const linkDialect: Dialect = {
    ...dialect,
    special: (status) =>
      [401, 403, 404, 410].includes(status)
        ? {
            code: 'provider_error',
            message: `${dialect.displayName}'s result link no longer works (HTTP ${status}); signed result links expire.`,
            hint: 'The image could not be fetched in time; generate it again.',
          }
        : undefined,
  };
  return withRetry(
    async () => {
      const res = await send(linkDialect, ctx, url, { method: 'GET', headers }, { idempotent: true });
      const bytes = await readBytes(linkDialect, ctx, res, true);
      return imageFromBytes(dialect, bytes, 'result image', seed);
    },
    { ...ctx.retry, signal: ctx.signal },
  );
}
