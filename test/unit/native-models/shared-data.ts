/**
 * Reference data for the native-models tests. It lives in `shared/` beside the repository
 * (CI clones the repo with `../shared` next to it), so paths are resolved from this file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const sharedDataDir = path.resolve(repoRoot, '../shared/data');

export function readSharedText(relativePath: string): string {
  return readFileSync(path.join(sharedDataDir, relativePath), 'utf8');
}

export interface Tolerance {
  /** Allowed |actual − expected| as a fraction of |expected|. */
  readonly rel?: number;
  /** Allowed |actual − expected| regardless of size (for expected values at or near 0). */
  readonly abs?: number;
}

/** Each element within `max(rel·|expected|, abs)`; reports the worst element on failure. */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance: Tolerance, label = ''): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let worst = { index: -1, excess: 0, actual: 0, expected: 0 };
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const allowed = Math.max((tolerance.rel ?? 0) * Math.abs(e), tolerance.abs ?? 0);
    const excess = Number.isNaN(a) ? Infinity : Math.abs(a - e) - allowed;
    if (excess > worst.excess) worst = { index: i, excess, actual: a, expected: e };
  }
  expect(worst.index, `${label}[${worst.index}] = ${worst.actual}, expected ${worst.expected}`).toBe(-1);
}

export function expectNumberClose(actual: number, expected: number, tolerance: Tolerance, label = ''): void {
  expectClose([actual], [expected], tolerance, label);
}
