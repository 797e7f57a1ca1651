import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../contract/errors.js';
import type { DownloadProgress } from '../../contract/models.js';

export interface DownloadOptions {
  url: string;
  /** Final path; bytes arrive in `<dest>.part` and are renamed only once complete and verified. */
  dest: string;
  expectedSha256?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Free bytes at a path; injectable so a full disk can be tested. */
  freeBytes?: (dir: string) => number;
  /** Space needed beyond the file itself, as a multiple of its size (archives are extracted next to it). */
  extraSpaceFactor?: number;
}

export interface Downloaded {
  path: string;
  sha256: string;
  bytes: number;
}

const PROGRESS_EVERY_BYTES = 4 * 1024 * 1024;

export function freeBytesAt(dir: string): number {
  const stats = fs.statfsSync(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Resumable download: an interrupted attempt leaves `<dest>.part`, and the next
 * one asks for the rest with an HTTP Range request (starting over if the server
 * ignores it). The sha256 covers the whole file, resumed part included.
 */
export async function downloadFile(options: DownloadOptions): Promise<Downloaded> {
  const doFetch = options.fetch ?? fetch;
  const partial = `${options.dest}.part`;
  fs.mkdirSync(path.dirname(options.dest), { recursive: true });
  let existing = fs.existsSync(partial) ? fs.statSync(partial).size : 0;

  let response: Response;
  try {
    response = await doFetch(options.url, { headers: existing > 0 ? { Range: `bytes=${existing}-` } : {}, signal: options.signal, redirect: 'follow' });
  } catch (error) {
    throw networkError(options.url, error, existing);
  }
  if (response.status === 416 && existing > 0) {
    // The part file already holds every byte: nothing left to fetch.
    await response.body?.cancel();
    return finish(options, partial, await hashFile(partial, createHash('sha256')), existing);
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new AppError('network', `The download server answered HTTP ${response.status} for ${options.url}.`, {
      hint: response.status === 404 ? 'Check the URL.' : 'Try again later, or check the URL.',
      retryable: response.status >= 500,
    });
  }
  const resumed = response.status === 206 && contentRangeStart(response) === existing;
  if (!resumed) existing = 0;

  const length = Number(response.headers.get('content-length') ?? NaN);
  const remaining = Number.isFinite(length) ? length : null;
  const total = remaining === null ? null : remaining + existing;
  checkDiskSpace(options, remaining);

  const hash = createHash('sha256');
  if (existing > 0) await hashFile(partial, hash);
  const out = fs.createWriteStream(partial, { flags: existing > 0 ? 'a' : 'w' });
  let received = existing;
  let lastReport = 0;
  const report = (phase: DownloadProgress['phase']) =>
    options.onProgress?.({ url: options.url, receivedBytes: received, totalBytes: total, resumedFrom: existing, phase });
  report('downloading');
  try {
    if (!response.body) throw new Error('the response has no body');
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
      if (received - lastReport >= PROGRESS_EVERY_BYTES) {
        lastReport = received;
        report('downloading');
      }
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  } catch (error) {
    out.destroy();
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(options.dest);
    throw networkError(options.url, error, received);
  }
  if (total !== null && received !== total) {
    throw networkError(options.url, new Error(`the connection closed after ${received} of ${total} bytes`), received);
  }
  report('verifying');
  return finish(options, partial, hash.digest('hex'), received);
}

function finish(options: DownloadOptions, partial: string, sha256: string, bytes: number): Downloaded {
  if (options.expectedSha256 && sha256 !== options.expectedSha256.toLowerCase()) {
    fs.rmSync(partial, { force: true });
    throw new AppError('model_invalid', `The downloaded file's sha256 is ${sha256}, not the expected ${options.expectedSha256}. It was deleted.`, {
      hint: 'Check that the URL and the sha256 belong to the same file, then download again.',
    });
  }
  fs.renameSync(partial, options.dest);
  return { path: options.dest, sha256, bytes };
}

function checkDiskSpace(options: DownloadOptions, remaining: number | null): void {
  if (remaining === null) return;
  const needed = Math.ceil(remaining * (1 + (options.extraSpaceFactor ?? 0)));
  const free = (options.freeBytes ?? freeBytesAt)(path.dirname(options.dest));
  if (free < needed) {
    throw new AppError('disk_full', `Not enough disk space: the download needs ${gib(needed)} and ${gib(free)} is free at ${path.dirname(options.dest)}.`, {
      hint: 'Free some space (or set IMAGEBENCH_HOME to a larger disk) and run the download again; nothing was written.',
    });
  }
}

async function hashFile(file: string, hash: Hash): Promise<string> {
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.copy().digest('hex');
}

function contentRangeStart(response: Response): number | null {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : null;
}

function networkError(url: string, cause: unknown, received: number): AppError {
  if (cause instanceof AppError) return cause;
  const why = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
  return new AppError('network', `The download of ${url} stopped after ${gib(received)}: ${why}.`, {
    hint: 'Run the same download again: it resumes where it stopped.',
    retryable: true,
    cause,
  });
}

function diskFull(dest: string): AppError {
  return new AppError('disk_full', `The disk filled up while downloading to ${path.dirname(dest)}.`, {
    hint: 'Free some space and run the download again: it resumes where it stopped.',
  });
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
