import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR, launchChromium } from '../helpers/browser.js';
import { assertBuilt, runCli } from '../helpers/cli.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/tmp.js';

const skip = postgresSkipReason();
const home = makeTempDir();
const env = { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: `ImageBench-studio-e2e-${process.pid}` };
let pg: PostgresServer;
let browser: Browser;
let served: Served;
let page: Page;

describe.skipIf(skip !== null)(`studio mode and preferences in Settings ${skip ?? ''}`, () => {
  beforeAll(async () => {
    assertBuilt();
    pg = await startPostgres();
    browser = await launchChromium();
    served = await startServe(env);
    page = await browser.newPage({ viewport: { width: 1360, height: 1400 } });
    await page.goto(served.url);
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await pg?.destroy();
    home.cleanup();
  });

  it('joins a studio on a real PostgreSQL and shows its policy', async () => {
    await page.getByLabel('Studio database URL').fill(pg.url);
    await page.getByLabel('Studio id').fill('acme');
    await page.getByLabel('Your name').fill('ana');
    await page.getByRole('button', { name: 'Join studio' }).click();
    await expect.poll(() => page.getByTestId('studio-status').textContent()).toBe('Connected to studio acme as ana.');
    await page.getByText('When the database is unreachable: paid finals are blocked').waitFor();
    // An admin sets the cap from the CLI; the app shows it.
    const set = await runCli(['studio', 'policy', '--cap', '250', '--member-limit', '40'], env);
    expect(set.code).toBe(0);
    await page.reload();
    await page.getByText('Studio cap: $250.00 a month').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'settings-studio.png'), fullPage: true });
  });

  it('says when the studio database is unreachable', async () => {
    await pg.stop();
    try {
      await page.reload();
      await expect.poll(() => page.getByTestId('studio-status').textContent()).toMatch(/unreachable.*Previews keep working/);
    } finally {
      await pg.start();
    }
  });

  it('saves a preference when the field is left', async () => {
    const field = page.getByLabel('Ask before spending more than ($)');
    await field.fill('0.5');
    await field.press('Enter');
    await expect.poll(async () => (await runCli(['settings', 'get', 'finals.confirmAboveUsd'], env)).stdout.trim()).toBe('0.5');
  });
});
