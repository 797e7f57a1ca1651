import { z } from 'zod';

export const ModelFamilySchema = z.enum(['sd15', 'lcm', 'sd2', 'sdxl', 'sdxl-turbo']);
export type ModelFamily = z.infer<typeof ModelFamilySchema>;

export const LicenceNoteSchema = z.object({
  name: z.string(),
  commercialUse: z.enum(['non-commercial or licensed', 'allowed with use restrictions', 'check the model card']),
  note: z.string(),
});

export const ModelEntrySchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  name: z.string(),
  path: z.string(),
  family: ModelFamilySchema,
  turbo: z.boolean(),
  /** Why the family was detected, e.g. "unet cross_attention_dim = 1024 …": shown so a wrong guess is visible. */
  familyEvidence: z.string(),
  /** True when ImageBench owns the files (downloaded into the data directory) and removing deletes them. */
  managed: z.boolean(),
  sizeBytes: z.number().int().nonnegative(),
  importedAt: z.string(),
  source: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('folder') }),
    z.object({ kind: z.literal('download'), url: z.string(), sha256: z.string() }),
  ]),
  licence: LicenceNoteSchema,
  defaults: z.object({ width: z.number().int(), height: z.number().int(), steps: z.number().int(), guidanceScale: z.number() }),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const DownloadProgressSchema = z.object({
  url: z.string(),
  receivedBytes: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative().nullable(),
  /** Bytes already on disk from an earlier, interrupted attempt. */
  resumedFrom: z.number().int().nonnegative(),
  phase: z.enum(['downloading', 'verifying', 'extracting', 'done']),
});
export type DownloadProgress = z.infer<typeof DownloadProgressSchema>;

export const Sha256Schema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[0-9a-f]{64}$/, 'A sha256 is 64 hexadecimal characters.');
