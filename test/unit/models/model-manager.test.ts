import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../../src/core/models/model-manager.js';
import { summarizeModelFolder } from '../../../native-models/src/models/summary.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';
import { makeTempDir } from '../../helpers/tmp.js';

const tmp = makeTempDir();
let models: string;
let archive: Buffer;
let archiveSha: string;
let server: http.Server;
let base: string;
/** Per-path behaviour of the fake download server. */
const served = { dropAfter: null as number | null, ignoreRange: false, requests: [] as Array<{ path: string; range: string | undefined }> };

beforeAll(async () => {
  models = tinyModelsDir();
  const archivePath = path.join(tmp.dir, 'sd-turbo.tar.gz');
  await tar.c({ gzip: true, file: archivePath, cwd: models }, ['sd-turbo']);
  archive = fs.readFileSync(archivePath);
  archiveSha = createHash('sha256').update(archive).digest('hex');

  server = http.createServer((req, res) => {
    served.requests.push({ path: req.url ?? '', range: req.headers.range });
    const body = req.url === '/not-an-archive.tar.gz' ? Buffer.from('<html>login page</html>') : archive;
    if (req.url === '/missing.tar.gz') return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (range && !served.ignoreRange) {
      start = Number(range[1]);
      if (start >= body.length) return void res.writeHead(416).end();
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'Content-Length': body.length });
    }
    const slice = body.subarray(start);
    if (served.dropAfter !== null) {
      res.write(slice.subarray(0, served.dropAfter));
      served.dropAfter = null;
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  tmp.cleanup();
});

const freshManager = (freeBytes?: (dir: string) => number) => {
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'data-'));
  return { dataDir, manager: new ModelManager(dataDir, summarizeModelFolder, { freeBytes }) };
};

describe('model manager', () => {
  it('imports a folder in place, detecting the family from its configs', async () => {
    const { manager } = freshManager();
    const entry = await manager.importFolder(path.join(models, 'sdxl-turbo'));
    expect(entry).toMatchObject({ id: 'sdxl-turbo', family: 'sdxl-turbo', turbo: true, managed: false, source: { kind: 'folder' } });
    expect(entry.licence.commercialUse).toBe('non-commercial or licensed');
    expect(entry.defaults).toMatchObject({ width: 512, height: 512, steps: 1 });
    expect(entry.sizeBytes).toBeGreaterThan(1000);
    expect(manager.list()).toHaveLength(1);
    expect(await manager.importFolder(path.join(models, 'sdxl-turbo'))).toEqual(entry);
  });

  it('refuses a corrupt folder, naming the file, and registers nothing', async () => {
    const { manager } = freshManager();
    await expect(manager.importFolder(path.join(models, 'corrupt'))).rejects.toThrowError(/unet[/\\]model\.onnx/);
    expect(manager.list()).toEqual([]);
  });

  it('downloads an archive, verifies its sha256 and installs it', async () => {
    const { manager, dataDir } = freshManager();
    const phases: string[] = [];
    const entry = await manager.downloadModel({ url: `${base}/sd-turbo.tar.gz`, sha256: archiveSha, onProgress: (p) => phases.push(p.phase) });
    expect(entry).toMatchObject({ id: 'sd-turbo', family: 'sd2', turbo: true, managed: true, source: { kind: 'download', sha256: archiveSha } });
    expect(fs.existsSync(path.join(entry.path, 'model_index.json'))).toBe(true);
    expect(entry.path.startsWith(path.join(dataDir, 'models'))).toBe(true);
    expect(phases).toEqual(expect.arrayContaining(['downloading', 'verifying', 'extracting', 'done']));
    expect(fs.readdirSync(path.join(dataDir, 'downloads'))).toEqual([]);
    manager.remove(entry.id);
    expect(fs.existsSync(entry.path)).toBe(false);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const { manager, dataDir } = freshManager();
    served.requests = [];
    served.dropAfter = Math.floor(archive.length / 3);
    await expect(manager.downloadModel({ url: `${base}/sd-turbo.tar.gz`, sha256: archiveSha })).rejects.toMatchObject({ code: 'network', retryable: true });
    const part = path.join(dataDir, 'downloads', 'sd-turbo.tar.gz.part');
    const kept = fs.statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(Math.floor(archive.length / 3));
    expect(manager.list()).toEqual([]);

    const entry = await manager.downloadModel({ url: `${base}/sd-turbo.tar.gz`, sha256: archiveSha });
    expect(served.requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(entry.source).toMatchObject({ sha256: archiveSha });
  });

  it('starts over when the server ignores the Range header', async () => {
    const { manager } = freshManager();
    served.dropAfter = 1000;
    await expect(manager.downloadModel({ url: `${base}/sd-turbo.tar.gz` })).rejects.toMatchObject({ code: 'network' });
    served.ignoreRange = true;
    try {
      const entry = await manager.downloadModel({ url: `${base}/sd-turbo.tar.gz`, sha256: archiveSha });
      expect(entry.family).toBe('sd2');
    } finally {
      served.ignoreRange = false;
    }
  });

  it('deletes a file whose sha256 does not match and registers nothing', async () => {
    const { manager, dataDir } = freshManager();
    const wrong = 'a'.repeat(64);
    await expect(manager.downloadModel({ url: `${base}/sd-turbo.tar.gz`, sha256: wrong })).rejects.toThrowError(/sha256 is [0-9a-f]{64}, not the expected a{64}/);
    expect(fs.readdirSync(path.join(dataDir, 'downloads'))).toEqual([]);
    expect(manager.list()).toEqual([]);
  });

  it('checks free disk space before writing anything', async () => {
    const { manager, dataDir } = freshManager(() => 1024);
    await expect(manager.downloadModel({ url: `${base}/sd-turbo.tar.gz` })).rejects.toMatchObject({ code: 'disk_full' });
    expect(fs.readdirSync(path.join(dataDir, 'downloads'))).toEqual([]);
  });

  it('explains a download that is not an archive, or is missing', async () => {
    const { manager } = freshManager();
    await expect(manager.downloadModel({ url: `${base}/not-an-archive.tar.gz` })).rejects.toThrowError(/not a \.tar or \.tar\.gz archive/);
    await expect(manager.downloadModel({ url: `${base}/missing.tar.gz` })).rejects.toThrowError(/HTTP 404/);
    await expect(manager.downloadModel({ url: 'ftp://example.com/x.tar' })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('never deletes a folder it did not create', async () => {
    const { manager } = freshManager();
    const entry = await manager.importFolder(path.join(models, 'lcm'));
    expect(() => manager.remove(entry.id, true)).toThrowError(/does not delete folders it did not create/);
    manager.remove(entry.id);
    expect(fs.existsSync(path.join(models, 'lcm', 'model_index.json'))).toBe(true);
    expect(manager.list()).toEqual([]);
  });
});
