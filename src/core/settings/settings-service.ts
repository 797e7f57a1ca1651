import { AppError } from '../../contract/errors.js';
import { SETTINGS_VERSION, SettingsSchema, defaultSettings, settingKeys, type Settings } from '../../contract/settings.js';

/** Where the settings object lives: electron-store in the app, `conf` in web mode and the CLI. */
export interface SettingsFile {
  read(): Record<string, unknown>;
  write(value: Record<string, unknown>): void;
}

/** A step from one schema version to the next; index i upgrades version i to i + 1. */
export type SettingsMigration = (previous: Record<string, unknown>) => Record<string, unknown>;

/**
 * Version 1 is the first released schema. A file without `schemaVersion` was
 * written by a pre-release build whose fields match version 1, so it upgrades as is.
 */
export const SETTINGS_MIGRATIONS: readonly SettingsMigration[] = [(v0) => ({ ...v0, schemaVersion: 1 })];

export function migrateSettings(
  raw: Record<string, unknown>,
  migrations: readonly SettingsMigration[] = SETTINGS_MIGRATIONS,
  targetVersion: number = SETTINGS_VERSION,
): Record<string, unknown> {
  const found = raw.schemaVersion;
  let version = typeof found === 'number' && Number.isInteger(found) ? found : 0;
  if (version > targetVersion) {
    throw new AppError('invalid_input', `The settings file was written by a newer ImageBench (schema ${version}, this build reads ${targetVersion}).`, {
      hint: 'Update ImageBench, or move the settings file aside to start from defaults.',
    });
  }
  let current = raw;
  while (version < targetVersion) {
    const step = migrations[version];
    if (!step) throw new AppError('internal', `No settings migration from schema ${version}.`);
    current = step(current);
    version += 1;
  }
  return { ...current, schemaVersion: targetVersion };
}

export class SettingsService {
  private cached: Settings;

  constructor(private readonly file: SettingsFile) {
    const migrated = migrateSettings(file.read());
    const parsed = SettingsSchema.safeParse(migrated);
    // A hand-edited file with a bad value must not brick the app: keep every valid field, reset the rest.
    this.cached = parsed.success ? parsed.data : salvage(migrated);
    file.write(this.cached);
  }

  get(): Settings {
    return structuredClone(this.cached);
  }

  set(key: string, value: unknown): Settings {
    assertKnownKey(key);
    const next = setPath(structuredClone(this.cached) as Record<string, unknown>, key, value);
    const parsed = SettingsSchema.safeParse(next);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError('invalid_input', `Cannot set ${key} to ${JSON.stringify(value)}: ${issue?.message ?? 'invalid value'}.`, {
        hint: `Run \`imagebench settings get ${key}\` to see the current value.`,
      });
    }
    this.cached = parsed.data;
    this.file.write(this.cached);
    return this.get();
  }

  reset(key?: string): Settings {
    if (key === undefined) {
      this.cached = defaultSettings();
    } else {
      assertKnownKey(key);
      const fallback = getPath(defaultSettings() as Record<string, unknown>, key);
      this.cached = SettingsSchema.parse(setPath(structuredClone(this.cached) as Record<string, unknown>, key, fallback));
    }
    this.file.write(this.cached);
    return this.get();
  }
}

function assertKnownKey(key: string): void {
  if (!settingKeys().includes(key)) {
    throw new AppError('invalid_input', `There is no setting called "${key}".`, {
      hint: `Known settings: ${settingKeys().join(', ')}.`,
    });
  }
}

function salvage(raw: Record<string, unknown>): Settings {
  let result = defaultSettings();
  for (const key of settingKeys()) {
    const value = getPath(raw, key);
    if (value === undefined) continue;
    const attempt = SettingsSchema.safeParse(setPath(structuredClone(result) as Record<string, unknown>, key, value));
    if (attempt.success) result = attempt.data;
  }
  return result;
}

export function getPath(obj: Record<string, unknown>, key: string): unknown {
  let node: unknown = obj;
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const parts = key.split('.');
  let node = obj;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (child === null || typeof child !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
  return obj;
}
