/**
 * Model folders for the benchmark, made fresh by the committed generator
 * (native-models/tools/make_tiny_models.py): the tiny test set and the heavier `sd-turbo-medium`
 * UNet (`--medium`), in a temporary folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchModels {
  readonly tiny: string;
  readonly medium: string;
  cleanup(): void;
}

export function generateBenchModels(repoRoot: string, python = process.env['IMAGEBENCH_PYTHON'] ?? '/usr/bin/python3'): BenchModels {
  const dir = mkdtempSync(join(tmpdir(), 'imagebench-bench-'));
  const generator = join(repoRoot, 'native-models', 'tools', 'make_tiny_models.py');
  execFileSync(python, ['-B', generator, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(python, ['-B', generator, dir, '--medium'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { tiny: join(dir, 'sd-turbo'), medium: join(dir, 'sd-turbo-medium'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Bytes of the ONNX graphs and external weights under a model folder (what sessions load). */
export function onnxBytes(folder: string): number {
  let total = 0;
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (/\.onnx(_data|\.data)?$|weights\.pb$/.test(file)) total += statSync(join(folder, file)).size;
  }
  return total;
}
