import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/openai.js';
import { SCREENSHOT_DIR, launchChromium } from '../helpers/browser.js';
import { assertBuilt, runCli } from '../helpers/cli.js';
import { startServe, type Served } from '../helpers/serve.js';
import { tinyModelsDir } from '../helpers/tiny-models.js';
import { filesContaining, makeTempDir } from '../helpers/tmp.js';

const KEY = 'sk-e2e-finals-ESCALATE-9z9z';
const home = makeTempDir();
let fake: OpenAIFake;
let browser: Browser;
let served: Served;
let page: Page;

beforeAll(async () => {
  assertBuilt();
  fake = await startOpenAIFake(KEY);
  // The key comes from the environment (headless use); the provider talks to the loopback fake.
  const env = { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: `ImageBench-finals-e2e-${process.pid}`, IMAGEBENCH_OPENAI_API_KEY: KEY, IMAGEBENCH_OPENAI_BASE_URL: fake.url };
  await runCli(['models', 'import', path.join(tinyModelsDir(), 'sd-turbo')], env);
  browser = await launchChromium();
  served = await startServe(env);
  page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  await page.goto(served.url);
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  await fake?.close();
  home.cleanup();
});

describe('escalating a preview to a cloud final', () => {
  it('carries the preview over, shows the price on the button, and shows the final beside the preview', async () => {
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.getByLabel('Live mode (render while typing)').uncheck();
    await page.getByLabel('Width').selectOption('256');
    await page.getByLabel('Height').selectOption('256');
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill('a red fox in snow');
    await page.getByLabel('Seed').fill('77');
    await page.getByRole('button', { name: 'Render preview' }).click();
    await page.getByTestId('preview-image').waitFor();
    await page.getByRole('button', { name: 'Escalate to cloud →' }).click();

    expect(await page.getByRole('textbox', { name: 'Prompt', exact: true }).inputValue()).toBe('a red fox in snow');
    await page.getByText('Escalating the preview with seed 77').waitFor();
    await page.getByLabel('Model').selectOption('openai/gpt-image-2');
    await page.getByLabel('Quality').selectOption('low');
    const button = page.getByRole('button', { name: /^Generate final · / });
    await expect.poll(() => button.textContent()).toMatch(/^Generate final · (≤ )?\$0\.0\d+/);
    await button.click();

    const job = page.locator('.job').first();
    await expect.poll(() => job.locator('.job-status').textContent(), { timeout: 30_000 }).toBe('succeeded');
    expect(await job.locator('.job-cost').textContent()).toMatch(/^\$0\.0\d+ \(estimate/);
    const compare = job.getByLabel('Compare');
    await compare.getByRole('img', { name: 'Preview' }).waitFor();
    await compare.getByRole('img', { name: 'Final' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'finals-compare.png'), fullPage: true });
    expect(fake.counts.submit).toBe(1);
  });

  it('asks before spending above the threshold, and serves a repeat from the cache for $0', async () => {
    await page.getByLabel('Quality').selectOption('high');
    await page.getByRole('button', { name: /^Generate final · / }).click();
    await page.getByRole('alertdialog', { name: 'Confirm spend' }).getByRole('button', { name: 'Back' }).click();
    expect(fake.counts.submit).toBe(1);

    await page.getByLabel('Quality').selectOption('low');
    await page.getByRole('button', { name: /^Generate final · / }).click();
    await page.getByText(/^cached — saved \$0\.0\d+/).first().waitFor();
    expect(fake.counts.submit).toBe(1);
  });

  it('offers a near match for a reworded prompt, and using it costs nothing', async () => {
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill('a red fox standing in the snow');
    const offer = page.getByRole('region', { name: 'Near match' });
    await offer.waitFor({ timeout: 30_000 });
    // The tiny test encoders have random weights, so every prompt is "near"; this proves the wiring, not CLIP.
    expect(await offer.textContent()).toMatch(/a [01]\.\d\d match from today, \$0\.\d+ saved if you use it/);
    await offer.getByRole('button', { name: 'Use it' }).click();
    await page.getByRole('status').filter({ hasText: /^used a [01]\.\d\d match — saved \$0\.\d+/ }).waitFor();
    expect(fake.counts.submit).toBe(1);
    await page.getByRole('button', { name: 'Spend', exact: true }).click();
    await expect.poll(() => page.getByRole('listitem', { name: 'Cache hit rate' }).textContent()).toContain('near matches used 1 of 1');
  });

  it('keeps the preview\'s shape and can start the final from its pixels', async () => {
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.getByLabel('Height').selectOption('384');
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill('a tall lighthouse');
    await page.getByRole('button', { name: 'Render preview' }).click();
    await expect.poll(() => page.getByTestId('preview-facts').textContent()).toContain('256×384');
    await page.getByRole('button', { name: 'Escalate to cloud →' }).click();
    await page.getByLabel('Model').selectOption('openai/gpt-image-2');
    expect(await page.getByLabel('Size').inputValue()).toBe('1024x1536');
    await page.getByLabel("Start from the preview's pixels (image-to-image)").check();
    await page.getByLabel('Quality').selectOption('low');
    const before = fake.counts.submit;
    await page.getByRole('button', { name: /^Generate final · / }).click();
    const job = page.locator('.job').filter({ hasText: 'a tall lighthouse' });
    await expect.poll(() => job.locator('.job-status').textContent(), { timeout: 30_000 }).toBe('succeeded');
    expect(await job.textContent()).toContain('a tall lighthouse');
    await job.getByLabel('Compare').getByRole('img', { name: 'Preview' }).waitFor();
    expect(fake.counts.submit).toBe(before + 1);
    expect(fake.requests.at(-1)?.url.pathname).toBe('/v1/images/edits');
  });

  it('wrote the key nowhere', () => {
    expect(filesContaining(home.dir, 'ESCALATE-9z9z')).toEqual([]);
    expect(served.output()).not.toContain('ESCALATE-9z9z');
  });
});
