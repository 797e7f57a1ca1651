import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR, launchChromium } from '../helpers/browser.js';
import { assertBuilt } from '../helpers/cli.js';
import { openTestKeychain } from '../helpers/keychain.js';
import { startServe, type Served } from '../helpers/serve.js';
import { filesContaining, makeTempDir } from '../helpers/tmp.js';

const home = makeTempDir();
const service = `ImageBench-e2e-${process.pid}`;
const env = { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: service, IMAGEBENCH_OPENAI_API_KEY: '' };
const SECRET = 'sk-e2e-DO-NOT-LEAK-7q4z';
const keychain = await openTestKeychain(service);

let browser: Browser;
let served: Served;
let page: Page;

beforeAll(async () => {
  assertBuilt();
  browser = await launchChromium();
  served = await startServe(env);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});
afterAll(async () => {
  await keychain.store?.delete('api-key:openai');
  await browser?.close();
  await served?.stop();
  home.cleanup();
});

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

describe('web mode in Chromium', () => {
  it('refuses the page without the token', async () => {
    const res = await page.goto(served.origin + '/');
    expect(res?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('Unauthorized');
  });

  it('opens the shell with the token and drops the token from the address', async () => {
    await page.goto(served.url);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(page.url()).toBe(served.origin + '/');
    for (const label of ['Preview', 'Finals', 'Gallery', 'Spend', 'Settings']) {
      await expect(page.getByRole('button', { name: label, exact: true }).isVisible()).resolves.toBe(true);
    }
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).waitFor();
    await shot('preview');
  });

  it('renders every main screen', async () => {
    for (const [label, marker] of [
      ['Finals', 'Escalate to a cloud final'],
      ['Gallery', 'No images yet'],
      ['Spend', 'Spend, last 30 days'],
      ['Settings', 'API keys'],
    ] as const) {
      await page.getByRole('button', { name: label, exact: true }).click();
      await page.getByText(marker).first().waitFor();
      await shot(label.toLowerCase());
    }
  });

  it('shows a live estimate that follows the model and image count', async () => {
    await page.getByRole('button', { name: 'Finals', exact: true }).click();
    const estimate = page.getByTestId('final-estimate');
    await page.getByLabel('Model').selectOption('replicate/black-forest-labs/flux-schnell');
    await expect.poll(() => estimate.locator('strong').textContent()).toBe('$0.0030');
    await page.getByLabel('Images').fill('4');
    await expect.poll(() => estimate.locator('strong').textContent()).toBe('$0.012');
    await page.getByLabel('Model').selectOption('openai/gpt-image-2');
    await expect.poll(() => estimate.locator('strong').textContent()).toMatch(/^(≤ )?\$0\.0\d+/);
    await shot('finals-estimate');
  });

  it('changes a setting through the UI and the CLI-visible file', async () => {
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    await page.getByLabel('Steps').fill('3');
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByText('Dark').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await shot('settings-dark');
  });

  it.skipIf(!keychain.store)(`stores a key in the real keychain and shows only its last 4 ${keychain.reason}`, async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const row = page.locator('[data-provider="openai"]');
    await row.getByLabel('OpenAI API key').fill(SECRET);
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.getByTestId('key-status-openai').textContent()).toBe('Set · …7q4z');
    await row.getByText('Saved to the keychain').waitFor();
    await shot('settings-key-saved');

    expect(await keychain.store!.get('api-key:openai')).toBe(SECRET);
    expect(await page.content()).not.toContain('DO-NOT-LEAK');
    expect(filesContaining(home.dir, 'DO-NOT-LEAK')).toEqual([]);
    expect(served.output()).not.toContain('DO-NOT-LEAK');
  });

  it.skipIf(!keychain.store)('keeps the key and settings across a restart', async () => {
    await served.stop();
    served = await startServe(env);
    await page.goto(served.url);
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await expect.poll(() => page.getByTestId('key-status-openai').textContent()).toBe('Set · …7q4z');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    expect(await page.getByLabel('Steps').inputValue()).toBe('3');
  });

  it.skipIf(!keychain.store)('removes the key', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const row = page.locator('[data-provider="openai"]');
    await row.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => row.getByTestId('key-status-openai').textContent()).toBe('Not set');
    expect(await keychain.store!.get('api-key:openai')).toBeNull();
  });
});
