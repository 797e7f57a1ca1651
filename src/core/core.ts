import path from 'node:path';
import { AppError } from '../contract/errors.js';
import type { AppInfo, CallOutput, DoctorReport } from '../contract/index.js';
import type { FinalModel, FinalShape } from '../contract/finals.js';
import { formatEstimate, upperBoundUsd, type CostEstimate } from '../contract/money.js';
import type { ProviderId, ProviderSummary } from '../contract/providers.js';
import { Dispatcher, type Handlers } from './dispatcher.js';
import { runDoctor, type DoctorDeps } from './doctor.js';
import { EventBus } from './events.js';
import { ExactCache } from './cache/exact-cache.js';
import { NearMatches } from './cache/near-matches.js';
import { SemanticCache } from './cache/semantic-cache.js';
import { openDatabase, type SqliteDatabase } from './db/sqlite.js';
import { toDataUrl } from './images/data-url.js';
import { ImageStore } from './images/image-store.js';
import { KeyService } from './keys.js';
import { PreviewService } from './local/preview-service.js';
import { LocalRunLog } from './local/run-log.js';
import type { LocalEngine } from '../../native-models/src/engine.js';
import { SpendService } from './spend/spend-service.js';
import { StudioService } from './spend/studio-service.js';
import { FinalsService } from './finals/finals-service.js';
import { fromSubmit, toJobView } from './finals/job-view.js';
import { ModelManager, type InspectModel } from './models/model-manager.js';
import type { SecretStore } from './secrets/secret-store.js';
import { SettingsService, type SettingsFile } from './settings/settings-service.js';

/** What the core needs to know about cloud providers; the registry in src/providers implements it. */
export interface ProviderCatalog {
  list(): ProviderSummary[];
  /** Make the provider's cheapest authenticated call. `key` is undefined for keyless (self-hosted) providers. */
  verifyKey(provider: ProviderId, key: string | undefined): Promise<{ ok: boolean; message: string }>;
  models(): FinalModel[];
  estimate(shape: FinalShape): CostEstimate;
}

export interface CoreDeps {
  host: AppInfo['host'];
  version: string;
  dataDir: string;
  settingsFile: SettingsFile;
  secrets: SecretStore;
  providers: ProviderCatalog;
  env: NodeJS.ProcessEnv;
  executionProviders: DoctorDeps['executionProviders'];
  hostChecks: DoctorDeps['hostChecks'];
  /** Reads a model folder's configs (native-models' summarizeModelFolder). */
  inspectModel: InspectModel;
  /** The local inference engine (a worker process); created on the first preview. */
  localEngine: () => LocalEngine;
  fetch?: typeof fetch;
}

export interface Core {
  dispatcher: Dispatcher;
  events: EventBus;
  settings: SettingsService;
  keys: KeyService;
  models: ModelManager;
  db: SqliteDatabase;
  images: ImageStore;
  cache: ExactCache;
  spend: SpendService;
  localRuns: LocalRunLog;
  previews: PreviewService;
  studio: StudioService;
  finals: FinalsService;
  info(): AppInfo;
  /** Long-running hosts (app, web mode) call this once: accepted cloud jobs resume polling. */
  startBackgroundWork(): Promise<void>;
  /** Stop the inference worker, flush counters and close the database; hosts call it before exiting. */
  close(): Promise<void>;
  doctor(): Promise<DoctorReport>;
}

/** The Electron-agnostic core: every host builds one of these and talks to it only through `dispatcher`. */
export function createCore(deps: CoreDeps): Core {
  const events = new EventBus();
  const settings = new SettingsService(deps.settingsFile);
  const keys = new KeyService(deps.secrets, deps.providers.list(), deps.env);
  const models = new ModelManager(deps.dataDir, deps.inspectModel, { fetch: deps.fetch });
  const db = openDatabase(deps.dataDir);
  const images = new ImageStore({ dataDir: deps.dataDir, db, maxBytes: settings.get().cache.imageStoreMaxMb * 1024 * 1024 });
  const cache = new ExactCache(db);
  // The run log reads the worker's busy share through `previews`, created just below.
  const localRuns: LocalRunLog = new LocalRunLog(db, (): number | null => previews.busyShare());
  const previews: PreviewService = new PreviewService({ engineFactory: deps.localEngine, models, images, runs: localRuns, settings, events });
  const spend = new SpendService(db, cache, localRuns, () => settings.get().spend.timeZone);
  const studio = new StudioService(settings, deps.secrets, db);
  const finals = new FinalsService({
    db,
    ledger: spend.ledger,
    cache,
    images,
    keys,
    env: deps.env,
    fetch: deps.fetch,
    confirmAboveUsd: () => settings.get().finals.confirmAboveUsd,
    gate: () => studio.gate(),
    onEvent: ({ kind, job }) => {
      events.emit('finals.job', toJobView(job));
      // A paid final is remembered by meaning, so a reworded prompt can be offered it later.
      if (kind === 'succeeded' && job.actual && job.cacheSavedMicros === null) {
        nearMatches.remember(job).catch((error: unknown) => console.error('[finals] could not remember the final for near matches:', error instanceof Error ? error.message : error));
      }
    },
  });
  const nearMatches = new NearMatches({
    cache: new SemanticCache(db),
    embedText: (modelDir, text) => previews.embed(modelDir, text),
    embeddingModel: () => {
      const chosen = settings.get().preview.modelId;
      const installed = models.list();
      return installed.find((m) => m.id === chosen) ?? (installed.length === 1 ? (installed[0] ?? null) : null);
    },
    threshold: () => settings.get().cache.semanticThreshold,
    timeZone: () => spend.timeZone,
  });

  const info = (): AppInfo => ({
    name: 'ImageBench',
    version: deps.version,
    host: deps.host,
    dataDir: deps.dataDir,
    keychainBackend: deps.secrets.backend,
  });
  const doctor = () => runDoctor(deps);

  const keysChanged = async <T>(result: T): Promise<T> => {
    events.emit('keys.changed', await keys.list());
    return result;
  };
  const modelsChanged = <T>(result: T): T => {
    events.emit('models.changed', models.list());
    return result;
  };
  const settingsChanged = (result: CallOutput<'settings.get'>) => {
    events.emit('settings.changed', result);
    return result;
  };

  const handlers: Handlers = {
    'app.info': async () => info(),
    'doctor.run': doctor,
    'settings.get': async () => settings.get(),
    'settings.set': async ({ key, value }) => settingsChanged(settings.set(key, value)),
    'settings.reset': async ({ key }) => settingsChanged(settings.reset(key)),
    'providers.list': async () => deps.providers.list(),
    'keys.list': () => keys.list(),
    'keys.set': async ({ provider, key }) => keysChanged(await keys.set(provider, key)),
    'keys.remove': async ({ provider }) => keysChanged(await keys.remove(provider)),
    'keys.test': async ({ provider }) => {
      const summary = deps.providers.list().find((p) => p.id === provider);
      const key = summary?.keyRequired ? await keys.resolve(provider) : undefined;
      return { provider, ...(await deps.providers.verifyKey(provider, key)) };
    },
    'finals.models': async () => deps.providers.models(),
    'finals.estimate': async (shape) => {
      const estimate = deps.providers.estimate(shape);
      const upper = upperBoundUsd(estimate);
      return { estimate, text: formatEstimate(estimate), needsConfirmation: upper === null || upper > settings.get().finals.confirmAboveUsd };
    },
    'spend.totals': async ({ by, since }) => spend.totals(by, since),
    'spend.kpis': async () => spend.kpis(nearMatches.stats()),
    'spend.csv': async ({ since }) => ({ csv: spend.csv(since) }),
    'budgets.list': async () => spend.budgets(),
    'budgets.set': async (input) => spend.setBudget(input),
    'budgets.remove': async ({ scope, scopeValue, period }) => spend.removeBudget(scope, scopeValue, period),
    'preview.generate': (input) => previews.generate(input),
    'preview.live': async (input) => {
      await previews.updateLive(input);
      return { accepted: true as const };
    },
    'preview.cancel': async ({ requestId }) => ({ cancelled: previews.cancel(requestId) }),
    'prompt.tokenize': ({ text, modelId }) => previews.tokenize(text, modelId),
    'gallery.list': async ({ limit, before }) =>
      Promise.all(
        images.list({ limit, before: before ? Date.parse(before) : undefined }).map(async (image) => {
          const thumbnail = await images.thumbnail(image.id);
          return {
          id: image.id,
          source: image.source,
          width: image.width,
          height: image.height,
          createdAt: new Date(image.createdAt).toISOString(),
          parameters: image.parameters,
          thumbnail: toDataUrl(thumbnail.data, thumbnail.mime),
          };
        }),
      ),
    'images.get': async ({ id }) => {
      const image = images.get(id);
      if (!image) throw new AppError('not_found', `No image ${id.slice(0, 12)}… in the store.`, { hint: 'It may have been evicted; see the gallery.' });
      return { id, dataUrl: toDataUrl(await images.read(id), image.mime), parameters: image.parameters };
    },
    'images.export': async ({ id, format, quality, outPath }) => {
      const target = outPath ?? path.join(deps.dataDir, 'exports', `${id.slice(0, 16)}.${format}`);
      const rendition = await images.export(id, { format, quality, outPath: target });
      return { path: rendition.path ?? target, bytes: rendition.data.length, mime: rendition.mime };
    },
    'studio.status': () => studio.status(),
    'studio.connect': (input) => studio.connect(input),
    'studio.disconnect': () => studio.disconnect(),
    'studio.setPolicy': (input) => studio.setPolicy(input),
    'finals.submit': async (input) => {
      const { request, options } = fromSubmit(input, settings.get().spend.project);
      return toJobView(finals.get(await finals.submit(request, options)));
    },
    'finals.nearMatches': (query) => nearMatches.find(query),
    'finals.useNearMatch': async ({ id }) => nearMatches.accept(id),
    'finals.declineNearMatch': async ({ id }) => nearMatches.decline(id),
    'finals.list': async ({ limit }) => finals.list({ limit }).map(toJobView),
    'finals.get': async ({ id }) => toJobView(finals.get(id)),
    'finals.wait': async ({ id }) => toJobView(await finals.wait(id)),
    'finals.cancel': async ({ id }) => toJobView(await finals.cancel(id)),
    'finals.releaseUnknown': async ({ id, billedUsd }) => toJobView(finals.releaseUnknown(id, { billedUsd })),
    'models.list': async () => models.list(),
    'models.import': async ({ path, name }) => modelsChanged(await models.importFolder(path, name)),
    'models.download': async ({ url, sha256, name }) =>
      modelsChanged(await models.downloadModel({ url, sha256, name, onProgress: (p) => events.emit('models.downloadProgress', p) })),
    'models.remove': async ({ id, deleteFiles }) => modelsChanged(models.remove(id, deleteFiles)),
  };

  const startBackgroundWork = async () => {
    const warming = nearMatches.warm();
    const report = await finals.resume();
    await warming;
    if (report.unknown.length > 0) console.warn(`[finals] ${report.unknown.length} final(s) may or may not have reached the provider; see Finals.`);
  };
  const close = async () => {
    await finals.close();
    await previews.dispose();
    await studio.close();
    cache.close();
    db.close();
  };
  return { dispatcher: new Dispatcher(handlers), events, settings, keys, models, db, images, cache, spend, localRuns, previews, studio, finals, info, doctor, close, startBackgroundWork };
}
