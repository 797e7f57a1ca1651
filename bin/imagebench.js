#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('error: ImageBench is not built.\nhint: run `npm run setup` (or `npm run build`) in the project folder.\n');
  process.exit(2);
}
const { runCli } = await import(entry.href);
process.exit(await runCli(process.argv.slice(2)));
