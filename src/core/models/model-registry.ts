import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../contract/errors.js';
import { ModelEntrySchema, type ModelEntry } from '../../contract/models.js';

const RegistryFileSchema = z.object({ version: z.literal(1), models: z.array(ModelEntrySchema) });

/** The list of installed local models: a small JSON file, rewritten atomically. */
export class ModelRegistry {
  constructor(private readonly file: string) {}

  list(): ModelEntry[] {
    if (!fs.existsSync(this.file)) return [];
    const parsed = RegistryFileSchema.safeParse(JSON.parse(fs.readFileSync(this.file, 'utf8')));
    if (!parsed.success) {
      throw new AppError('internal', `The model list ${this.file} is damaged.`, {
        hint: 'Move it aside and import your models again; the model files themselves are untouched.',
      });
    }
    return parsed.data.models;
  }

  get(id: string): ModelEntry {
    const entry = this.list().find((m) => m.id === id);
    if (!entry) {
      throw new AppError('not_found', `No local model with id "${id}".`, { hint: 'Run `imagebench models list` to see the installed models.' });
    }
    return entry;
  }

  add(entry: ModelEntry): void {
    this.write([...this.list().filter((m) => m.id !== entry.id), entry]);
  }

  remove(id: string): ModelEntry {
    const entry = this.get(id);
    this.write(this.list().filter((m) => m.id !== id));
    return entry;
  }

  /** A new id from a display name, unique among installed models. */
  uniqueId(name: string): string {
    const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'model';
    const taken = new Set(this.list().map((m) => m.id));
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    return id;
  }

  private write(models: ModelEntry[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 1, models }, null, 2));
    fs.renameSync(tmp, this.file);
  }
}
