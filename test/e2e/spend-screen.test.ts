import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/core/db/sqlite.js';
import { ImageStore } from '../../src/core/images/image-store.js';
import { SpendLedger } from '../../src/core/spend/ledger.js';
import { SCREENSHOT_DIR, launchChromium } from '../helpers/browser.js';
import { assertBuilt } from '../helpers/cli.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/tmp.js';
import { makePng } from '../unit/images/test-images.js';

const home = makeTempDir();
const dataDir = path.join(home.dir, 'data');
const env = { IMAGEBENCH_HOME: dataDir, IMAGEBENCH_KEYCHAIN_SERVICE: `ImageBench-spend-e2e-${process.pid}` };
let browser: Browser;
let served: Served;

/** A week of real ledger rows across providers, written the way the finals service writes them. */
async function seedLedger(): Promise<void> {
  const db = openDatabase(dataDir);
  const images = new ImageStore({ dataDir, db });
  const day = 86_400_000;
  const start = Date.now() - 6 * day;
  const finals = [
    ['openai', 'gpt-image-2', 0.053, 0.06],
    ['bfl', 'flux-2-pro', 0.03, 0.03],
    ['replicate', 'black-forest-labs/flux-schnell', 0.003, 0.003],
    ['ideogram', 'V_3_QUALITY', 0.09, 0.09],
  ] as const;
  let n = 0;
  for (let d = 0; d < 7; d++) {
    for (const [provider, model, actual, upper] of finals.slice(0, 1 + (d % 4))) {
      n++;
      let clock = start + d * day + n * 60_000;
      const ledger = new SpendLedger(db, { timeZone: 'UTC', now: () => clock });
      const image = (await images.put(await makePng(16, 16, n), { source: 'cloud-final' })).image.id;
      ledger.reserve({ requestId: `seed-${n}`, provider, model, estimate: { kind: 'range', minUsd: actual * 0.9, maxUsd: upper, basis: 'seed' } });
      clock += 4_000 + n * 150;
      ledger.settle(`seed-${n}`, { usd: actual, source: 'provider-reported', basis: 'seed' }, { imageIds: [image] });
    }
  }
  new SpendLedger(db, { timeZone: 'UTC' }).budgets.set({ scope: 'global', period: 'month', softMicros: 1_000_000, hardMicros: 2_000_000 });
  db.close();
}

beforeAll(async () => {
  assertBuilt();
  await seedLedger();
  browser = await launchChromium();
  served = await startServe(env);
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  home.cleanup();
});

describe('the Spend screen', () => {
  it('charts a seeded ledger with KPI tiles and budget bars', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(served.url);
    await page.getByRole('button', { name: 'Spend', exact: true }).click();
    const perImage = page.getByRole('listitem', { name: 'Per-image cost' });
    await perImage.waitFor();
    await expect.poll(() => perImage.locator('.kpi-value').textContent()).toMatch(/^\$0\.0\d+$/);
    expect(await page.getByRole('listitem', { name: 'Estimate accuracy' }).locator('.kpi-value').textContent()).toMatch(/^1\.0\d×$/);
    for (const chart of ['By day', 'By provider', 'By model']) {
      await page.getByRole('figure', { name: chart }).locator('.recharts-bar-rectangle').first().waitFor();
    }
    expect(await page.getByRole('figure', { name: 'By provider' }).locator('.recharts-bar-rectangle').count()).toBeGreaterThanOrEqual(4);
    const meter = page.getByRole('meter', { name: 'month budget' });
    expect(Number(await meter.getAttribute('aria-valuenow'))).toBeGreaterThan(0.5);
    expect(await page.getByText('Monthly total').count()).toBe(1);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'spend-dashboard.png'), fullPage: true });
  });
});
