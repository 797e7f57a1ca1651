// `npm run bench`: runs every benchmark in test/bench/*.ts and prints its measurements.
//
// The code under test is compiled with the app (`npm run build:node` → dist/). Each test/bench/*.ts
// entry exports `run(): Promise<{ name, value, unit, target? }[]>`; this script transpiles those
// entries and test/helpers/*.ts (TypeScript's transpileModule, no type check) into dist/test/,
// where their relative imports land on the compiled modules, then imports and runs them in turn.
// `npm run bench -- local-preview` runs one. Helpers that locate the repository from their own
// path see dist/ as their root here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const benchDir = path.join(repoRoot, 'test', 'bench');
const outDir = path.join(repoRoot, 'dist', 'test', 'bench');

function transpile(fromDir, toDir, file) {
  const source = fs.readFileSync(path.join(fromDir, file), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  fs.mkdirSync(toDir, { recursive: true });
  const target = path.join(toDir, file.replace(/\.ts$/, '.js'));
  fs.writeFileSync(target, outputText);
  return target;
}

if (!fs.existsSync(path.join(repoRoot, 'dist', 'native-models'))) {
  console.error('bench: dist/ is missing or stale; run `npm run build:node` first.');
  process.exit(1);
}
const only = process.argv.slice(2);
const entries = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')));

const helpersDir = path.join(repoRoot, 'test', 'helpers');
for (const file of fs.readdirSync(helpersDir).filter((f) => f.endsWith('.ts'))) transpile(helpersDir, path.join(repoRoot, 'dist', 'test', 'helpers'), file);

let failed = false;
for (const file of entries) {
  const target = transpile(benchDir, outDir, file);
  console.log(`\n## ${file.replace(/\.ts$/, '')}  (${new Date().toISOString()}, node ${process.version}, ${process.platform}/${process.arch})`);
  try {
    const started = Date.now();
    const module = await import(pathToFileURL(target).href);
    const rows = await module.run();
    printTable(rows);
    console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed = true;
    console.error(`bench ${file} failed:`, error);
  }
}
process.exit(failed ? 1 : 0);

function printTable(rows) {
  const cells = rows.map((r) => [r.name, String(r.value), r.unit, r.target ?? '']);
  const header = ['measurement', 'value', 'unit', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => `| ${c.map((v, i) => (i === 1 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 1 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const c of cells) console.log(line(c));
}
