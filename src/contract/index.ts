import { z } from 'zod';
import { ErrorPayloadSchema } from './errors.js';
import { EstimateResultSchema, FinalJobViewSchema, FinalModelSchema, FinalShapeSchema, FinalSubmitSchema, NearMatchesSchema } from './finals.js';
import { BudgetPeriodSchema, BudgetScopeSchema, BudgetSetSchema, BudgetStatusSchema, KpisSchema, SpendQuerySchema, SpendTotalSchema } from './spend.js';
import { ExportFormatSchema, GalleryItemSchema, GenerationParametersSchema, ImageIdSchema } from './images.js';
import { PreviewFailureSchema, PreviewInputSchema, PreviewProgressSchema, PreviewResultSchema, TokenCountSchema } from './preview.js';
import { StudioConnectSchema, StudioPolicySetSchema, StudioPolicyViewSchema, StudioStatusSchema } from './studio.js';
import { DownloadProgressSchema, ModelEntrySchema, Sha256Schema } from './models.js';
import { KeyStatusSchema, ProviderIdSchema, ProviderSummarySchema } from './providers.js';
import { SettingsSchema } from './settings.js';

/**
 * The one contract between every UI surface and the core. The Electron preload,
 * the web host and the CLI are adapters over this table: a call that is not
 * here does not cross a process border, and every input is parsed with its
 * schema on the receiving side.
 */

const Empty = z.object({}).strict();

export const AppInfoSchema = z.object({
  name: z.literal('ImageBench'),
  version: z.string(),
  host: z.enum(['electron', 'web', 'cli']),
  dataDir: z.string(),
  keychainBackend: z.string(),
});
export type AppInfo = z.infer<typeof AppInfoSchema>;

export const DoctorCheckSchema = z.object({
  name: z.string(),
  status: z.enum(['ok', 'warn', 'fail']),
  detail: z.string(),
  hint: z.string().optional(),
});
export const DoctorReportSchema = z.object({
  checks: z.array(DoctorCheckSchema),
});
export type DoctorReport = z.infer<typeof DoctorReportSchema>;

/** A key travels only inward (UI → keychain), never back out. */
export const ApiKeySchema = z
  .string()
  .trim()
  .min(8, 'That key is too short to be an API key: paste the whole key.')
  .max(4096, 'That key is too long: paste only the key itself.')
  .regex(/^[\x21-\x7e]+$/, 'A key has no spaces, line breaks or non-ASCII characters: paste only the key itself.');

export const KeyTestResultSchema = z.object({
  provider: ProviderIdSchema,
  ok: z.boolean(),
  message: z.string(),
});

function call<I extends z.ZodType, O extends z.ZodType>(input: I, output: O, description: string) {
  return { input, output, description };
}

export const calls = {
  'app.info': call(Empty, AppInfoSchema, 'Version, host and data directory'),
  'doctor.run': call(Empty, DoctorReportSchema, 'Check the runtime, ONNX Runtime, keychain and disk'),
  'settings.get': call(Empty, SettingsSchema, 'All settings'),
  'settings.set': call(
    z.object({ key: z.string().min(1), value: z.unknown() }).strict(),
    SettingsSchema,
    'Change one setting by its dotted key',
  ),
  'settings.reset': call(z.object({ key: z.string().min(1).optional() }).strict(), SettingsSchema, 'Reset one setting, or all'),
  'providers.list': call(Empty, z.array(ProviderSummarySchema), 'Known providers'),
  'keys.list': call(Empty, z.array(KeyStatusSchema), 'Which provider keys are set'),
  'keys.set': call(
    z.object({ provider: ProviderIdSchema, key: ApiKeySchema }).strict(),
    KeyStatusSchema,
    'Store a provider key in the OS keychain',
  ),
  'keys.remove': call(z.object({ provider: ProviderIdSchema }).strict(), KeyStatusSchema, 'Remove a provider key'),
  'keys.test': call(z.object({ provider: ProviderIdSchema }).strict(), KeyTestResultSchema, 'Prove a key works with the cheapest call'),
  'finals.models': call(Empty, z.array(FinalModelSchema), 'Cloud and self-hosted models a final can use'),
  'finals.estimate': call(FinalShapeSchema, EstimateResultSchema, 'What a final will cost, before anything is spent'),
  'spend.totals': call(SpendQuerySchema, z.array(SpendTotalSchema), 'Spend grouped by day, provider, model or project'),
  'spend.kpis': call(Empty, KpisSchema, 'Per-image cost, p95 latency, cache hit rate, local GPU utilisation, estimate accuracy'),
  'spend.csv': call(z.object({ since: z.iso.date().optional() }).strict(), z.object({ csv: z.string() }), 'The ledger as CSV'),
  'budgets.list': call(Empty, z.array(BudgetStatusSchema), 'Budgets with what is used and left this period'),
  'budgets.set': call(BudgetSetSchema, z.array(BudgetStatusSchema), 'Create or change a budget'),
  'budgets.remove': call(
    z.object({ scope: BudgetScopeSchema, scopeValue: z.string().min(1).optional(), period: BudgetPeriodSchema }).strict(),
    z.array(BudgetStatusSchema),
    'Delete a budget',
  ),
  'preview.generate': call(PreviewInputSchema, PreviewResultSchema, 'Render a local preview and wait for it'),
  'preview.live': call(
    PreviewInputSchema,
    z.object({ accepted: z.literal(true) }),
    'Live mode: this request replaces any pending one (debounced); results arrive as preview.result events',
  ),
  'preview.cancel': call(z.object({ requestId: z.string().min(1) }).strict(), z.object({ cancelled: z.boolean() }), 'Stop a preview at its next step'),
  'prompt.tokenize': call(
    z.object({ text: z.string().max(4000), modelId: z.string().min(1).optional() }).strict(),
    TokenCountSchema,
    "Count a prompt's CLIP tokens with the model's own tokenizer and name the words past the limit",
  ),
  'gallery.list': call(
    z.object({ limit: z.number().int().min(1).max(200).default(60), before: z.iso.datetime().optional() }).strict(),
    z.array(GalleryItemSchema),
    'Stored images, newest first, with thumbnails and the settings that made them',
  ),
  'images.get': call(
    z.object({ id: ImageIdSchema }).strict(),
    z.object({ id: ImageIdSchema, dataUrl: z.string(), parameters: GenerationParametersSchema.nullable() }),
    'One image at full size',
  ),
  'images.export': call(
    z.object({ id: ImageIdSchema, format: ExportFormatSchema, quality: z.number().int().min(1).max(100).optional(), outPath: z.string().min(1).optional() }).strict(),
    z.object({ path: z.string(), bytes: z.number().int(), mime: z.string() }),
    'Write an image as PNG (with its parameters), WebP or AVIF',
  ),
  'studio.status': call(Empty, StudioStatusSchema, 'Studio mode: connection, policy and offline rows waiting to sync'),
  'studio.connect': call(StudioConnectSchema, StudioStatusSchema, 'Join a studio: shared policy and ledger in its PostgreSQL database'),
  'studio.disconnect': call(Empty, StudioStatusSchema, 'Leave studio mode (the shared ledger is untouched)'),
  'studio.setPolicy': call(StudioPolicySetSchema, StudioPolicyViewSchema, "Change the studio's policy (caps, limits, allowed providers, offline rule)"),
  'finals.submit': call(FinalSubmitSchema, FinalJobViewSchema, 'Queue a cloud final (priced, budget reserved, persisted before it is sent)'),
  'finals.nearMatches': call(
    z.object({ prompt: z.string().min(1), provider: ProviderIdSchema.optional(), model: z.string().optional(), size: z.string().optional() }).strict(),
    NearMatchesSchema,
    'Earlier paid finals whose prompts mean nearly the same: offered, never used without asking',
  ),
  'finals.useNearMatch': call(z.object({ id: z.string().min(1) }).strict(), z.object({ imageIds: z.array(z.string()), message: z.string() }), 'Use an offered near match instead of paying again'),
  'finals.declineNearMatch': call(z.object({ id: z.string().min(1) }).strict(), z.object({ declined: z.literal(true) }), 'Turn down an offered near match'),
  'finals.list': call(z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(), z.array(FinalJobViewSchema), 'Recent final jobs'),
  'finals.get': call(z.object({ id: z.string().min(1) }).strict(), FinalJobViewSchema, 'One final job'),
  'finals.wait': call(z.object({ id: z.string().min(1) }).strict(), FinalJobViewSchema, 'Wait until a final job ends'),
  'finals.cancel': call(z.object({ id: z.string().min(1) }).strict(), FinalJobViewSchema, 'Cancel a final (at the provider too, where its API allows)'),
  'finals.releaseUnknown': call(
    z.object({ id: z.string().min(1), billedUsd: z.number().nonnegative().optional() }).strict(),
    FinalJobViewSchema,
    'Settle a final whose submission outcome is unknown, after checking the provider dashboard',
  ),
  'models.list': call(Empty, z.array(ModelEntrySchema), 'Installed local models'),
  'models.import': call(
    z.object({ path: z.string().min(1), name: z.string().min(1).max(80).optional() }).strict(),
    ModelEntrySchema,
    'Register a diffusers/Optimum ONNX model folder in place',
  ),
  'models.download': call(
    z.object({ url: z.string().min(1), sha256: Sha256Schema.optional(), name: z.string().min(1).max(80).optional() }).strict(),
    ModelEntrySchema,
    'Download a .tar.gz of a model folder (resumable, sha256-checked) and install it',
  ),
  'models.remove': call(
    z.object({ id: z.string().min(1), deleteFiles: z.boolean().default(false) }).strict(),
    ModelEntrySchema,
    'Forget a local model (and delete its files if ImageBench downloaded them)',
  ),
} as const;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallInput<K extends CallName> = z.input<Calls[K]['input']>;
export type CallOutput<K extends CallName> = z.output<Calls[K]['output']>;

export const events = {
  'settings.changed': SettingsSchema,
  'keys.changed': z.array(KeyStatusSchema),
  'models.changed': z.array(ModelEntrySchema),
  'models.downloadProgress': DownloadProgressSchema,
  'preview.progress': PreviewProgressSchema,
  'preview.result': PreviewResultSchema,
  'preview.error': PreviewFailureSchema,
  'finals.job': FinalJobViewSchema,
} as const;
export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.output<Events[K]>;

export const CallResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorPayloadSchema }),
]);
export type CallResult<T = unknown> = { ok: true; value: T } | { ok: false; error: z.output<typeof ErrorPayloadSchema> };

export const EventEnvelopeSchema = z.object({ event: z.string(), payload: z.unknown() });

export function isCallName(name: string): name is CallName {
  return Object.prototype.hasOwnProperty.call(calls, name);
}

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(events, name);
}

/** The same typed surface in every host: `call` for requests, `subscribe` for events. */
export interface ImageBenchApi {
  call<K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>>;
  subscribe<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void;
}

export * from './errors.js';
export * from './finals.js';
export * from './images.js';
export * from './models.js';
export * from './preview.js';
export * from './money.js';
export * from './providers.js';
export * from './settings.js';
export * from './spend.js';
export * from './studio.js';
