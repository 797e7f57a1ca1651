import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { SCREENSHOT_DIR } from '../helpers/browser.js';
import { makeTempDir, repoRoot } from '../helpers/tmp.js';

function electronBinary(): { path: string | null; reason: string } {
  try {
    const binary = createRequire(import.meta.url)('electron') as string;
    if (fs.existsSync(binary)) return { path: binary, reason: '' };
    return { path: null, reason: `(skipped: Electron binary missing at ${binary})` };
  } catch (error) {
    return { path: null, reason: `(skipped: the Electron binary is not installed here — ${(error as Error).message.split('\n')[0]}; web mode covers the same renderer)` };
  }
}

const binary = electronBinary();
const home = makeTempDir();
afterAll(() => home.cleanup());

describe.skipIf(!binary.path)(`the Electron app ${binary.reason}`, () => {
  it('opens a sandboxed, isolated window that renders the shell', async () => {
    const app = await electron.launch({
      executablePath: binary.path!,
      args: [repoRoot],
      env: { ...process.env, IMAGEBENCH_HOME: path.join(home.dir, 'data') } as Record<string, string>,
    });
    try {
      const window = await app.firstWindow();
      await window.getByRole('navigation', { name: 'Main' }).waitFor();
      expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await window.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
      // Context isolation: the page sees the bridge's two functions, never ipcRenderer or Electron.
      expect(await window.evaluate(() => Object.keys((globalThis as { imagebenchBridge?: object }).imagebenchBridge ?? {}).sort())).toEqual(['call', 'subscribe']);
      expect(await window.evaluate(() => 'ipcRenderer' in globalThis)).toBe(false);
      expect(await window.evaluate(async () => (await (globalThis as unknown as { imagebenchBridge: { call(n: string, i: unknown): Promise<{ ok: boolean }> } }).imagebenchBridge.call('app.info', {})).ok)).toBe(true);
      await window.screenshot({ path: path.join(SCREENSHOT_DIR, 'electron.png') });
    } finally {
      await app.close();
    }
  });
});
