import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { keyEnvVar, type ProviderId } from '../../src/contract/providers.js';
import { ExactCache } from '../../src/core/cache/exact-cache.js';
import { openDatabase } from '../../src/core/db/sqlite.js';
import { FinalsService } from '../../src/core/finals/finals-service.js';
import { TokenBucket } from '../../src/core/finals/rate-limiter.js';
import { DOCUMENTED_LIMITS, type RateLimit } from '../../src/core/finals/rate-limits.js';
import { ImageStore } from '../../src/core/images/image-store.js';
import { KeyService } from '../../src/core/keys.js';
import { UnavailableSecretStore } from '../../src/core/secrets/secret-store.js';
import { SpendLedger } from '../../src/core/spend/ledger.js';
import { baseUrlEnvName } from '../../src/providers/base-url.js';
import { providerCatalog } from '../../src/providers/catalog.js';
import { makeTempDir } from '../helpers/tmp.js';
import { busiestWindow } from '../helpers/rate-window.js';

/**
 * Cloud finals benchmark (issue 5), measured in one run: what the job layer adds per image on top of
 * a zero-latency loopback fake in its own process (request build, JSON parse, base64 decode, PNG parameters, image store,
 * and the durable SQLite writes of job row, ledger and cache), throughput at 1 and 8 jobs at once,
 * and how exactly the token buckets hold the documented limits over 10,000 simulated requests.
 */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  target: string | null;
}

const KEY = 'sk-bench-0123456789abcdef';
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * A provider fake in its own process, as the real API would be: the client's numbers then measure the
 * client alone, not a server sharing its event loop. `npm run bench` runs this file from
 * dist/test/bench, where test/fakes is not compiled, so the fakes are transpiled next to it the way
 * test/bench/run.mjs transpiles test/helpers; run from source, the child loads them through the
 * TypeScript loader the process tests use.
 */
async function fakeProcess(module: 'openai' | 'replicate', latencyMs = 0): Promise<{ url: string; close: () => Promise<void> }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fakesDir = path.join(here, '..', 'fakes');
  const fromSource = fs.existsSync(path.join(fakesDir, 'harness.ts'));
  if (!fromSource) {
    const sources = path.resolve(here, '..', '..', '..', 'test', 'fakes');
    fs.mkdirSync(fakesDir, { recursive: true });
    for (const file of fs.readdirSync(sources).filter((f) => f.endsWith('.ts'))) {
      const { outputText } = ts.transpileModule(fs.readFileSync(path.join(sources, file), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      fs.writeFileSync(path.join(fakesDir, file.replace(/\.ts$/, '.js')), outputText);
    }
  }
  const file = pathToFileURL(path.join(fakesDir, `${module}.${fromSource ? 'ts' : 'js'}`)).href;
  const start = module === 'openai' ? 'startOpenAIFake' : 'startReplicateFake';
  // Replicate's fake finishes a prediction on its first poll: zero latency, all the round trips.
  const code = `const m = await import(${JSON.stringify(file)}); const f = await m.${start}(${JSON.stringify(KEY)}); if (f.state && 'pollsBeforeDone' in f.state) f.state.pollsBeforeDone = 0; if (${latencyMs} > 0) f.inject('submit', { kind: 'slow', ms: ${latencyMs} }, 1e9); process.stdout.write(f.url + '\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const loader = fromSource ? ['--import', path.resolve(here, '..', 'unit', 'spend', 'fixtures', 'register-ts.mjs')] : [];
  const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the ${module} fake exited with code ${code}`)));
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

function openService(dataDir: string, provider: ProviderId, url: string, maxConcurrent: number) {
  const env = { [keyEnvVar(provider)]: KEY, [baseUrlEnvName({ id: provider })]: url };
  const db = openDatabase(dataDir);
  const service = new FinalsService({
    db,
    ledger: new SpendLedger(db, { timeZone: 'UTC' }),
    cache: new ExactCache(db),
    images: new ImageStore({ dataDir, db }),
    keys: new KeyService(new UnavailableSecretStore('bench keys come from the environment'), providerCatalog(env).list(), env),
    env,
    maxConcurrent,
    pollIntervalMs: 0,
    // The fakes answer at once; the documented limits would measure the limiter, not the client.
    limits: { [provider]: { rate: null, concurrency: null } },
  });
  return {
    service,
    close: async () => {
      await service.close();
      db.close();
    },
  };
}

/** Runs `count` distinct finals, `concurrency` at a time; returns the wall time in ms. */
async function runFinals(service: FinalsService, count: number, concurrency: number, request: (i: number) => Parameters<FinalsService['submit']>[0]): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const job = await service.wait(await service.submit(request(i)));
        if (job.status !== 'succeeded') throw new Error(`bench final ${i} ended ${job.status}: ${job.error?.message ?? ''}`);
      }
    }),
  );
  return performance.now() - started;
}

async function benchClient(images: number): Promise<BenchRow[]> {
  const fake = await fakeProcess('openai');
  const rows: BenchRow[] = [];
  const request = (i: number) => ({ provider: 'openai' as const, model: 'gpt-image-1-mini', prompt: `a lighthouse at dusk, take ${i}`, width: 1024, height: 1024, quality: 'low' });
  try {
    // The bare HTTP round trip to the same fake, to subtract: what is left is the client's own work.
    const body = JSON.stringify({ model: 'gpt-image-1-mini', prompt: 'a lighthouse', n: 1, size: '1024x1024', quality: 'low' });
    const raw = async (): Promise<void> => {
      const res = await fetch(`${fake.url}/images/generations`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
    };
    for (let i = 0; i < 20; i++) await raw();
    const rawStart = performance.now();
    for (let i = 0; i < images; i++) await raw();
    const rawMs = (performance.now() - rawStart) / images;

    const tmp = makeTempDir('imagebench-bench-finals-');
    const { service, close } = openService(tmp.dir, 'openai', fake.url, 1);
    try {
      await runFinals(service, 10, 1, (i) => request(10_000 + i));
      const total = (await runFinals(service, images, 1, request)) / images;
      rows.push(
        { name: 'final end to end per image (OpenAI fake, sequential)', value: round(total, 2), unit: 'ms', target: null },
        { name: '  of which the fake HTTP round trip', value: round(rawMs, 2), unit: 'ms', target: null },
        { name: '  client overhead per image (build, parse, decode, store, SQLite)', value: round(total - rawMs, 2), unit: 'ms', target: null },
      );
    } finally {
      await close();
      tmp.cleanup();
    }
  } finally {
    await fake.close();
  }
  return rows;
}

async function benchThroughput(jobs: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cases = [
    { name: 'OpenAI (sync)', provider: 'openai' as const, start: () => fakeProcess('openai'), maxJobs: Infinity, request: (i: number) => ({ provider: 'openai' as const, model: 'gpt-image-1-mini', prompt: `a koi pond, take ${i}`, width: 1024, height: 1024, quality: 'low' }) },
    {
      name: 'OpenAI (sync) with 100 ms provider latency',
      provider: 'openai' as const,
      start: () => fakeProcess('openai', 100),
      // 100 ms × 200 one at a time would be 20 s of waiting to show the same ratio.
      maxJobs: 48,
      request: (i: number) => ({ provider: 'openai' as const, model: 'gpt-image-1-mini', prompt: `a koi pond, slowly, take ${i}`, width: 1024, height: 1024, quality: 'low' }),
    },
    {
      name: 'Replicate (submit, poll, download)',
      provider: 'replicate' as const,
      start: () => fakeProcess('replicate'),
      maxJobs: Infinity,
      request: (i: number) => ({ provider: 'replicate' as const, model: 'black-forest-labs/flux-schnell', prompt: `a koi pond, take ${i}`, aspectRatio: '1:1', seed: i }),
    },
  ];
  // Interleaved repeats, median reported: this machine is shared, and one noisy run should not
  // decide a ratio.
  const REPEATS = 3;
  for (const c of cases) {
    const fake = await c.start();
    const samples = new Map<number, number[]>([
      [1, []],
      [8, []],
    ]);
    try {
      for (let rep = 0; rep < REPEATS; rep++) {
        for (const concurrency of [1, 8]) {
          const tmp = makeTempDir('imagebench-bench-finals-');
          const { service, close } = openService(tmp.dir, c.provider, fake.url, concurrency);
          try {
            const offset = (rep * 2 + (concurrency === 1 ? 0 : 1)) * 1_000_000;
            await runFinals(service, 8, concurrency, (i) => c.request(offset + 900_000 + i));
            const count = Math.min(jobs, c.maxJobs);
            const ms = await runFinals(service, count, concurrency, (i) => c.request(offset + i));
            samples.get(concurrency)?.push((count / ms) * 1000);
          } finally {
            await close();
            tmp.cleanup();
          }
        }
      }
    } finally {
      await fake.close();
    }
    const one = median(samples.get(1) ?? []);
    const eight = median(samples.get(8) ?? []);
    rows.push(
      { name: `throughput, ${c.name}, concurrency 1`, value: round(one, 1), unit: 'images/s', target: null },
      { name: `throughput, ${c.name}, concurrency 8`, value: round(eight, 1), unit: 'images/s', target: null },
      { name: `  speed-up 8 vs 1, ${c.name}`, value: round(eight / one, 2), unit: '×', target: null },
    );
  }
  return rows;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** 10,000 requests per provider on a simulated clock: all waiting at once, then in bursts and lulls. */
function benchLimiter(requests: number): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [id, limits] of Object.entries(DOCUMENTED_LIMITS)) {
    const rate: RateLimit | null = limits.rate;
    if (!rate) continue;
    const simulate = (gap: (i: number) => number): Array<{ at: number; cost: number }> => {
      const bucket = new TokenBucket(rate, 0);
      const grants: Array<{ at: number; cost: number }> = [];
      let now = 0;
      for (let i = 0; i < requests; i++) {
        now += gap(i);
        for (let wait = bucket.take(1, now); wait > 0; wait = bucket.take(1, now)) now += wait;
        grants.push({ at: now, cost: 1 });
      }
      return grants;
    };
    const saturated = simulate(() => 0);
    const spacing = rate.windowMs / rate.limit;
    // Deterministic bursts: 40 quick arrivals, then a lull of a third of a window.
    const bursty = simulate((i) => (i % 40 === 0 ? Math.round(rate.windowMs / 3) : Math.floor(spacing / 4)));
    const worst = Math.max(busiestWindow(saturated, rate.windowMs), busiestWindow(bursty, rate.windowMs));
    const span = saturated.at(-1)?.at ?? 1;
    const sustained = ((rate.limit - rate.burst) / rate.windowMs) * span + rate.burst;
    rows.push(
      { name: `rate limiter ${id}: busiest window ÷ limit (${rate.limit} per ${rate.windowMs / 1000} s)`, value: round(worst / rate.limit, 4), unit: 'ratio', target: '≤ 1' },
      { name: `rate limiter ${id}: granted ÷ promised when saturated`, value: round(saturated.length / sustained, 4), unit: 'ratio', target: null },
    );
  }
  return rows;
}

export async function run(options: { images?: number; jobs?: number; simulated?: number } = {}): Promise<BenchRow[]> {
  return [...(await benchClient(options.images ?? 200)), ...(await benchThroughput(options.jobs ?? 200)), ...benchLimiter(options.simulated ?? 10_000)];
}
