import { keyEnvVar, type ProviderId } from '../../../src/contract/providers.js';
import { ExactCache } from '../../../src/core/cache/exact-cache.js';
import { openDatabase, type SqliteDatabase } from '../../../src/core/db/sqlite.js';
import { FinalsService, type FinalsEvent, type FinalsServiceOptions } from '../../../src/core/finals/finals-service.js';
import { ImageStore } from '../../../src/core/images/image-store.js';
import { KeyService } from '../../../src/core/keys.js';
import { UnavailableSecretStore } from '../../../src/core/secrets/secret-store.js';
import { SpendLedger } from '../../../src/core/spend/ledger.js';
import { baseUrlEnvName } from '../../../src/providers/base-url.js';
import { providerCatalog } from '../../../src/providers/catalog.js';

/**
 * The real job layer over a real SQLite file in `dataDir`: ledger, exact cache, image store and the
 * key service (keys from IMAGEBENCH_<PROVIDER>_API_KEY, as headless installs set them), with each
 * provider pointed at its loopback fake through IMAGEBENCH_<PROVIDER>_BASE_URL.
 */
export interface FinalsEnv {
  dataDir: string;
  db: SqliteDatabase;
  ledger: SpendLedger;
  cache: ExactCache;
  images: ImageStore;
  service: FinalsService;
  events: FinalsEvent[];
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface FinalsEnvOptions {
  dataDir: string;
  /** provider → { key, url of its fake }. */
  providers: Partial<Record<ProviderId, { key: string; url: string }>>;
  service?: Partial<Omit<FinalsServiceOptions, 'db' | 'ledger' | 'cache' | 'images' | 'keys' | 'env'>>;
}

export function finalsEnvVars(providers: FinalsEnvOptions['providers']): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [id, p] of Object.entries(providers) as Array<[ProviderId, { key: string; url: string }]>) {
    env[keyEnvVar(id)] = p.key;
    env[baseUrlEnvName({ id })] = p.url;
  }
  return env;
}

export function openFinals(options: FinalsEnvOptions): FinalsEnv {
  const env = finalsEnvVars(options.providers);
  const db = openDatabase(options.dataDir);
  const ledger = new SpendLedger(db, { timeZone: 'UTC' });
  const cache = new ExactCache(db);
  const images = new ImageStore({ dataDir: options.dataDir, db });
  const keys = new KeyService(new UnavailableSecretStore('tests read keys from the environment'), providerCatalog(env).list(), env);
  const events: FinalsEvent[] = [];
  const service = new FinalsService({
    db,
    ledger,
    cache,
    images,
    keys,
    env,
    pollIntervalMs: 5,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    onEvent: (event) => events.push(event),
    ...options.service,
  });
  let closed: Promise<void> | null = null;
  return {
    dataDir: options.dataDir,
    db,
    ledger,
    cache,
    images,
    service,
    events,
    env,
    close: () =>
      (closed ??= service.close().then(() => {
        db.close();
      })),
  };
}

/** Polls a condition (a fake's counter, a row in another process's database) until it holds. */
export async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
