import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../contract/errors.js';

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Writes `bytes` to `target` so that a reader sees either the old file or the whole new one: a temp
 * file in the same directory, fsync, rename, fsync the directory. On any failure the temp file is
 * removed and nothing at `target` changes; a full disk becomes a `disk_full` error that says what to do.
 */
export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw fileError(error, target, bytes.byteLength);
  }
  await syncDirectory(dir);
}

/** Makes the rename itself durable; some platforms (Windows) cannot open a directory, which is fine there. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL'].includes(errorCode(error))) throw error;
  } finally {
    await handle?.close();
  }
}

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

export function fileError(error: unknown, target: string, size: number): unknown {
  const code = errorCode(error);
  if (DISK_FULL_CODES.has(code)) {
    return new AppError('disk_full', `The disk is full: could not save ${(size / 1_048_576).toFixed(1)} MB to ${path.dirname(target)}.`, {
      hint: 'Free some disk space, lower cache.imageStoreMaxMb so old previews are evicted, or move the data directory (IMAGEBENCH_HOME) to a bigger disk.',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AppError('invalid_input', `Cannot write to ${path.dirname(target)} (${code}).`, {
      hint: 'Check the folder permissions, or choose another folder.',
      cause: error,
    });
  }
  return error;
}
