import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../../src/core/core.js';
import { createNodeCore } from '../../../src/core/node-host.js';
import { startWebHost, type WebHost } from '../../../src/server/web-host.js';
import { makeTempDir } from '../../helpers/tmp.js';

const TOKEN = 'test-token-0123456789abcdef';
const home = makeTempDir();
const rendererDir = path.join(home.dir, 'renderer');
let core: Core;
let host: WebHost;
let base: string;

beforeAll(async () => {
  fs.mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>ImageBench</title>');
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(home.dir, 'outside.txt'), 'secret file');
  core = await createNodeCore('web', { IMAGEBENCH_HOME: path.join(home.dir, 'data') });
  host = await startWebHost({ core, rendererDir, token: TOKEN });
  base = `http://127.0.0.1:${host.port}`;
});
afterAll(async () => {
  await host.close();
  await core.close();
  home.cleanup();
});

const auth = { Authorization: `Bearer ${TOKEN}` };
const postJson = (name: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${base}/api/call/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('web mode host', () => {
  it('binds to loopback and prints a URL with the token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${TOKEN}`);
  });

  it('refuses every request without the token, leaking nothing', async () => {
    for (const url of [`${base}/`, `${base}/assets/app.js`, `${base}/api/events`]) {
      const res = await fetch(url);
      expect(res.status).toBe(401);
      const body = await res.text();
      expect(body).not.toContain('ImageBench</title>');
      expect(body).not.toContain(home.dir);
    }
    const call = await postJson('app.info', {}, {});
    expect(call.status).toBe(401);
    expect(await call.text()).not.toContain('dataDir');
  });

  it('refuses a wrong token of any length', async () => {
    for (const token of ['nope', TOKEN.slice(0, -1) + 'X', TOKEN + 'extra']) {
      expect((await postJson('app.info', {}, { Authorization: `Bearer ${token}` })).status).toBe(401);
      expect((await fetch(`${base}/?token=${token}`, { redirect: 'manual' })).status).toBe(401);
    }
  });

  it('trades the URL token for an HttpOnly cookie and drops it from the address', async () => {
    const res = await fetch(`${base}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(`${base}/`, { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('ImageBench');
  });

  it('answers contract calls with parsed results and typed errors', async () => {
    const info = await postJson('app.info', {});
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ ok: true, value: { name: 'ImageBench', host: 'web' } });

    const bad = await postJson('settings.set', { key: 'preview.steps', value: 999 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ ok: false, error: { code: 'invalid_input' } });

    const unknown = await postJson('nope.nothing', {});
    expect(unknown.status).toBe(404);
  });

  it('refuses cross-origin calls, non-JSON bodies and foreign Host headers', async () => {
    expect((await postJson('app.info', {}, { ...auth, Origin: 'http://evil.example' })).status).toBe(403);
    const form = await fetch(`${base}/api/call/app.info`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '{}' });
    expect(form.status).toBe(415);
    // fetch cannot forge Host; a raw request can, as a DNS-rebinding page's would arrive.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: host.port, path: '/api/call/app.info', method: 'POST', headers: { ...auth, Host: 'evil.example', 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(rebound).toBe(421);
  });

  it('serves nothing outside the renderer folder', async () => {
    const res = await fetch(`${base}/..%2Foutside.txt`, { headers: auth });
    expect(await res.text()).not.toContain('secret file');
  });

  it('pushes core events over server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/events`, { headers: auth, signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await postJson('settings.set', { key: 'theme', value: 'dark' });
    let text = '';
    while (!text.includes('event: settings.changed')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain('event: settings.changed');
    expect(text).toContain('"theme":"dark"');
  });
});
