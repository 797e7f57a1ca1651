import envPaths from 'env-paths';
import path from 'node:path';

/**
 * One data directory shared by the app, web mode and the CLI, so a key set in
 * one is seen by the others. IMAGEBENCH_HOME overrides it (tests, portable installs).
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.IMAGEBENCH_HOME?.trim();
  if (override) return path.resolve(override);
  return envPaths('ImageBench', { suffix: '' }).data;
}
