import { z } from 'zod';

export const SETTINGS_VERSION = 1;

export const ExecutionProviderChoiceSchema = z.enum(['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu']);

/**
 * The one settings schema. Every field has a default so a missing or partial
 * file always parses to something usable; unknown keys are dropped.
 */
export const SettingsSchema = z.object({
  schemaVersion: z.literal(SETTINGS_VERSION).default(SETTINGS_VERSION),
  theme: z.enum(['system', 'light', 'dark']).default('system'),
  preview: z
    .object({
      modelId: z.string().nullable().default(null),
      steps: z.number().int().min(1).max(50).default(1),
      width: z.number().int().min(64).max(2048).multipleOf(8).default(512),
      height: z.number().int().min(64).max(2048).multipleOf(8).default(512),
      executionProvider: ExecutionProviderChoiceSchema.default('auto'),
      liveMode: z.boolean().default(true),
      debounceMs: z.number().int().min(0).max(5000).default(250),
    })
    .prefault({}),
  finals: z
    .object({
      /** Ask before spending more than this on one request. */
      confirmAboveUsd: z.number().nonnegative().default(0.1),
      defaultProvider: z.string().nullable().default(null),
    })
    .prefault({}),
  spend: z
    .object({
      /** IANA zone whose calendar days, weeks and months budgets count in; empty = this computer's zone. */
      timeZone: z.string().default(''),
      /** Recorded on every ledger row so a studio can split spend by project. */
      project: z.string().default(''),
    })
    .prefault({}),
  studio: z
    .object({
      /** Empty: studio mode off. The password is never here: it is in the keychain. */
      url: z.string().default(''),
      studioId: z.string().default(''),
      member: z.string().default(''),
      seat: z.string().default(''),
    })
    .prefault({}),
  cache: z
    .object({
      semanticThreshold: z.number().min(0.5).max(1).default(0.92),
      imageStoreMaxMb: z.number().int().min(64).default(4096),
    })
    .prefault({}),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function defaultSettings(): Settings {
  return SettingsSchema.parse({});
}

/** Dotted paths of every leaf setting, e.g. `preview.steps`: what `settings get|set` accept. */
export function settingKeys(): string[] {
  return flattenSettings(defaultSettings()).map(([key]) => key);
}

export function flattenSettings(settings: Settings): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const walk = (value: unknown, prefix: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else {
      out.push([prefix, value]);
    }
  };
  walk(settings, '');
  return out.filter(([key]) => key !== 'schemaVersion');
}
