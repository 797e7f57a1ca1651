import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR, launchChromium } from '../helpers/browser.js';
import { assertBuilt } from '../helpers/cli.js';
import { startServe, type Served } from '../helpers/serve.js';
import { tinyModelsDir } from '../helpers/tiny-models.js';
import { makeTempDir } from '../helpers/tmp.js';

const home = makeTempDir();
const env = { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: `ImageBench-preview-e2e-${process.pid}` };
let browser: Browser;
let served: Served;
let page: Page;

beforeAll(async () => {
  assertBuilt();
  browser = await launchChromium();
  served = await startServe(env);
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await page.goto(served.url);
});
afterAll(async () => {
  await browser?.close();
  await served?.stop();
  home.cleanup();
});

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

describe('local previews in the browser', () => {
  it('imports a model folder from Settings and shows its licence note', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Model folder').fill(path.join(tinyModelsDir(), 'sd-turbo'));
    await page.getByRole('button', { name: 'Import folder' }).click();
    const row = page.locator('[data-model="sd-turbo"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('sd2 · turbo');
    expect(await row.getByRole('note').textContent()).toContain('Non-Commercial');
    await page.getByLabel('Model folder').fill(path.join(tinyModelsDir(), 'corrupt'));
    await page.getByRole('button', { name: 'Import folder' }).click();
    await page.getByText(/unet[/\\]model\.onnx/).first().waitFor();
    await shot('settings-models');
  });

  it('renders live while typing, with a token count, and the image carries its seed', async () => {
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.getByLabel('Width').selectOption('256');
    await page.getByLabel('Height').selectOption('256');
    await page.getByRole('textbox', { name: /Prompt/ }).pressSequentially('a lighthouse at dusk', { delay: 30 });
    await expect.poll(() => page.getByTestId('token-count').textContent()).toBe('4 / 75 tokens');
    const image = page.getByTestId('preview-image');
    await image.waitFor({ timeout: 30_000 });
    const facts = await page.getByTestId('preview-facts').textContent();
    expect(facts).toMatch(/seed \d+/);
    expect(facts).toContain('256×256, 1 step (euler)');
    expect(facts).toContain('cpu');
    await shot('preview-live');
  });

  it('reproduces the same pixels for the same seed, and different ones for another', async () => {
    const imageId = () => page.getByTestId('preview-image').getAttribute('data-image-id');
    await page.getByLabel('Live mode (render while typing)').uncheck();
    await page.getByLabel('Seed').fill('1234');
    await page.getByRole('button', { name: 'Render preview' }).click();
    await expect.poll(() => page.getByTestId('preview-facts').textContent()).toContain('seed 1234');
    const first = await imageId();
    await page.getByLabel('Seed').fill('999');
    await page.getByRole('button', { name: 'Render preview' }).click();
    await expect.poll(() => page.getByTestId('preview-facts').textContent()).toContain('seed 999');
    expect(await imageId()).not.toBe(first);
    await page.getByLabel('Seed').fill('1234');
    await page.getByRole('button', { name: 'Render preview' }).click();
    await expect.poll(() => page.getByTestId('preview-facts').textContent()).toContain('seed 1234');
    expect(await imageId()).toBe(first);
  });

  it('warns which words a long prompt loses', async () => {
    const long = Array.from({ length: 90 }, (_, i) => `word${i}`).join(' ');
    await page.getByRole('textbox', { name: /Prompt/ }).fill(long);
    await page.getByText(/Past the 77-token limit, the model will not see: .*word89/).waitFor();
    expect(await page.getByTestId('token-count').textContent()).toMatch(/^\d+ \/ 75 tokens$/);
  });

  it('lists the renders in the gallery and restores their settings', async () => {
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    const items = page.getByRole('listitem').filter({ has: page.getByRole('img') });
    // The live render, seed 1234 and seed 999 (1234 twice is one image: same bytes, same id).
    await expect.poll(() => items.count()).toBeGreaterThanOrEqual(3);
    await page.getByRole('listitem').filter({ hasText: 'seed 1234' }).first().getByRole('button', { name: 'Restore settings' }).click();
    expect(await page.getByRole('textbox', { name: /Prompt/ }).inputValue()).toBe('a lighthouse at dusk');
    expect(await page.getByLabel('Seed').inputValue()).toBe('1234');
    await page.getByRole('button', { name: 'Gallery', exact: true }).click();
    await shot('gallery');
  });
});
