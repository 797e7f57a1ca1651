import Conf from 'conf';
import { createRequire } from 'node:module';
import type { AppInfo } from '../contract/index.js';
import { createCore, type Core } from './core.js';
import { resolveDataDir } from './paths.js';
import { providerCatalog } from '../providers/catalog.js';
import { listExecutionProviders } from '../../native-models/src/backend/ort.js';
import { summarizeModelFolder } from '../../native-models/src/models/summary.js';
import { WorkerEngine } from '../../native-models/src/worker/worker-engine.js';
import { KeytarSecretStore } from './secrets/keytar-store.js';
import { UnavailableSecretStore, type SecretStore } from './secrets/secret-store.js';
import type { SettingsFile } from './settings/settings-service.js';
import { appVersion } from './version.js';

/** Settings for web mode and the CLI: `conf`, the Node sibling of electron-store, on the same file. */
export function confSettingsFile(dataDir: string): SettingsFile {
  const conf = new Conf<Record<string, unknown>>({ cwd: dataDir, configName: 'settings', projectName: 'imagebench' });
  return {
    read: () => conf.store,
    write: (value) => {
      conf.store = value;
    },
  };
}

/** Plain Node has no safeStorage: without a keychain keys are refused, never written in plain text. */
export async function openNodeSecretStore(env: NodeJS.ProcessEnv = process.env): Promise<SecretStore> {
  try {
    // A separate service name keeps test runs and second profiles away from the user's own keys.
    return await KeytarSecretStore.open({ service: env.IMAGEBENCH_KEYCHAIN_SERVICE?.trim() || undefined });
  } catch (error) {
    return new UnavailableSecretStore(error instanceof Error ? error.message : String(error));
  }
}

export async function createNodeCore(host: Exclude<AppInfo['host'], 'electron'>, env: NodeJS.ProcessEnv = process.env): Promise<Core> {
  const dataDir = resolveDataDir(env);
  return createCore({
    host,
    version: appVersion(),
    dataDir,
    settingsFile: confSettingsFile(dataDir),
    secrets: await openNodeSecretStore(env),
    providers: providerCatalog(env),
    env,
    executionProviders: listExecutionProviders,
    inspectModel: summarizeModelFolder,
    localEngine: () => new WorkerEngine(),
    hostChecks: async () => [electronBinaryCheck()],
  });
}

function electronBinaryCheck() {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return { name: 'Electron', status: 'ok' as const, detail: `binary installed at ${String(binary)}; \`npm start\` opens the desktop app` };
  } catch {
    return {
      name: 'Electron',
      status: 'warn' as const,
      detail: 'Electron binary not installed: the desktop window is unavailable, web mode (`imagebench serve`) works',
      hint: 'On a machine with internet access run `node node_modules/electron/install.js`.',
    };
  }
}
