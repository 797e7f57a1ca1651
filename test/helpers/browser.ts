import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from './tmp.js';

export const CHROMIUM = process.env.IMAGEBENCH_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(repoRoot, 'test-results', 'screenshots');

/** Debian's Chromium, never a downloaded one; flags keep it off the (closed) network. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/install-system-deps.sh (or set IMAGEBENCH_CHROMIUM).`);
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
