import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { AppError } from '../../contract/errors.js';
import type { DownloadProgress, ModelEntry, ModelFamily } from '../../contract/models.js';
import { downloadFile, type DownloadOptions } from './downloader.js';
import { ModelRegistry } from './model-registry.js';

/** What the manager needs to know about a folder; native-models' `readModelFolder` provides it. */
export interface InspectedModel {
  family: ModelFamily;
  turbo: boolean;
  familyEvidence: string;
  licence: ModelEntry['licence'];
  defaults: ModelEntry['defaults'];
}
export type InspectModel = (dir: string) => Promise<InspectedModel>;

export interface DownloadRequest {
  url: string;
  sha256?: string;
  name?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

/**
 * Local models: import a folder in place, download an archive of one into the
 * data directory, list, remove. A model is registered only after it has been
 * fully written, verified and inspected, so a failure never leaves a half entry.
 */
export class ModelManager {
  readonly registry: ModelRegistry;
  private readonly modelsDir: string;
  private readonly downloadsDir: string;

  constructor(
    dataDir: string,
    private readonly inspect: InspectModel,
    private readonly download: Pick<DownloadOptions, 'fetch' | 'freeBytes'> = {},
  ) {
    this.modelsDir = path.join(dataDir, 'models');
    this.downloadsDir = path.join(dataDir, 'downloads');
    this.registry = new ModelRegistry(path.join(this.modelsDir, 'registry.json'));
  }

  list(): ModelEntry[] {
    return this.registry.list();
  }

  async importFolder(dir: string, name?: string): Promise<ModelEntry> {
    const root = path.resolve(dir);
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
      throw new AppError('invalid_input', `${root} is not a folder.`, { hint: 'Pass the folder that contains model_index.json.' });
    }
    const existing = this.registry.list().find((m) => m.path === root);
    if (existing) return existing;
    const inspected = await this.inspect(root);
    const entry = this.entry(root, name ?? path.basename(root), inspected, false, { kind: 'folder' });
    this.registry.add(entry);
    return entry;
  }

  async downloadModel(request: DownloadRequest): Promise<ModelEntry> {
    const url = parseUrl(request.url);
    const fileName = path.basename(url.pathname) || 'model.tar.gz';
    const archive = await downloadFile({
      ...this.download,
      url: url.href,
      dest: path.join(this.downloadsDir, fileName),
      expectedSha256: request.sha256,
      signal: request.signal,
      onProgress: request.onProgress,
      extraSpaceFactor: 1.1, // the archive is extracted beside itself before it is deleted
    });
    request.onProgress?.({ url: url.href, receivedBytes: archive.bytes, totalBytes: archive.bytes, resumedFrom: 0, phase: 'extracting' });

    const name = request.name ?? fileName.replace(/\.(tar\.gz|tgz|tar)$/i, '');
    const id = this.registry.uniqueId(name);
    const staging = fs.mkdtempSync(path.join(this.downloadsDir, `.extract-${id}-`));
    try {
      await extractArchive(archive.path, staging);
      const root = findModelRoot(staging);
      const inspected = await this.inspect(root);
      const finalDir = path.join(this.modelsDir, id);
      fs.mkdirSync(this.modelsDir, { recursive: true });
      fs.renameSync(root, finalDir);
      const entry = { ...this.entry(finalDir, name, inspected, true, { kind: 'download', url: url.href, sha256: archive.sha256 }), id };
      this.registry.add(entry);
      fs.rmSync(archive.path, { force: true });
      request.onProgress?.({ url: url.href, receivedBytes: archive.bytes, totalBytes: archive.bytes, resumedFrom: 0, phase: 'done' });
      return entry;
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }

  remove(id: string, deleteFiles = false): ModelEntry {
    const entry = this.registry.get(id);
    if (deleteFiles && !entry.managed) {
      throw new AppError('invalid_input', `${entry.name} was imported from ${entry.path}; ImageBench does not delete folders it did not create.`, {
        hint: 'Remove it without deleting files, then delete the folder yourself if you want.',
      });
    }
    this.registry.remove(id);
    if (entry.managed) fs.rmSync(entry.path, { recursive: true, force: true });
    return entry;
  }

  private entry(root: string, name: string, inspected: InspectedModel, managed: boolean, source: ModelEntry['source']): ModelEntry {
    return {
      id: this.registry.uniqueId(name),
      name,
      path: root,
      family: inspected.family,
      turbo: inspected.turbo,
      familyEvidence: inspected.familyEvidence,
      managed,
      sizeBytes: folderSize(root),
      importedAt: new Date().toISOString(),
      source,
      licence: inspected.licence,
      defaults: inspected.defaults,
    };
  }
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid_input', `"${raw}" is not a URL.`, { hint: 'Give the full address of a .tar.gz archive of a model folder.' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('invalid_input', `Only http(s) downloads are supported, not ${url.protocol}`);
  return url;
}

async function extractArchive(file: string, into: string): Promise<void> {
  const head = Buffer.alloc(512);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 512, 0);
  } finally {
    fs.closeSync(fd);
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const plainTar = head.subarray(257, 262).toString('latin1') === 'ustar';
  if (!gzip && !plainTar) {
    throw new AppError('model_invalid', `${path.basename(file)} is not a .tar or .tar.gz archive.`, {
      hint: 'Pack the model folder with `tar czf model.tar.gz <folder>`, or import a folder with `imagebench models import <folder>`.',
    });
  }
  try {
    // tar strips absolute paths and `..` entries, so an archive cannot write outside `into`.
    await tar.x({ file, cwd: into, strict: true });
  } catch (error) {
    throw new AppError('model_invalid', `The archive ${path.basename(file)} could not be unpacked: ${(error as Error).message}.`, {
      hint: 'Download it again; if it fails again the archive itself is damaged.',
      cause: error,
    });
  }
}

/** The folder holding model_index.json: the archive root or one level down (`tar czf x.tgz sd-turbo/`). */
function findModelRoot(dir: string): string {
  if (fs.existsSync(path.join(dir, 'model_index.json'))) return dir;
  const children = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  const found = children.map((c) => path.join(dir, c.name)).find((c) => fs.existsSync(path.join(c, 'model_index.json')));
  if (!found) {
    throw new AppError('model_invalid', 'The archive holds no model folder (no model_index.json at its top or one level down).', {
      hint: 'Archive a diffusers/Optimum ONNX export folder, the one with model_index.json in it.',
    });
  }
  return found;
}

function folderSize(dir: string): number {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
}
