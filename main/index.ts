import { app, BrowserWindow, ipcMain, safeStorage, session, shell, utilityProcess, type IpcMainInvokeEvent } from 'electron';
import ElectronStore from 'electron-store';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCore, type Core } from '../src/core/core.js';
import { resolveDataDir } from '../src/core/paths.js';
import { KeytarSecretStore } from '../src/core/secrets/keytar-store.js';
import { EncryptedFileSecretStore } from '../src/core/secrets/encrypted-file-store.js';
import { UnavailableSecretStore, type SecretStore } from '../src/core/secrets/secret-store.js';
import type { SettingsFile } from '../src/core/settings/settings-service.js';
import { CONTENT_SECURITY_POLICY } from '../src/core/security.js';
import { packageRoot } from '../src/core/version.js';
import { providerCatalog } from '../src/providers/catalog.js';
import { listExecutionProviders } from '../native-models/src/backend/ort.js';
import { summarizeModelFolder } from '../native-models/src/models/summary.js';
import { defaultWorkerEntry, utilityProcessChannel } from '../native-models/src/worker/worker-channel.js';
import { WorkerEngine } from '../native-models/src/worker/worker-engine.js';

const root = packageRoot();
const rendererIndex = path.join(root, 'dist', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;
const preloadPath = path.join(root, 'dist', 'preload', 'index.cjs');

function electronSettingsFile(dataDir: string): SettingsFile {
  const store = new ElectronStore<Record<string, unknown>>({ cwd: dataDir, name: 'settings' });
  return {
    read: () => store.store,
    write: (value) => {
      store.store = value;
    },
  };
}

/** Keychain first; Electron safeStorage when the keychain is unreachable; otherwise keys are refused, never stored in plain text. */
async function openSecretStore(dataDir: string): Promise<SecretStore> {
  try {
    return await KeytarSecretStore.open();
  } catch (keytarError) {
    // On Linux without a keyring safeStorage falls back to 'basic_text', a key baked into Chromium:
    // that is plain text in disguise, so it counts as no encryption at all.
    const weak = process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text';
    if (safeStorage.isEncryptionAvailable() && !weak) {
      return new EncryptedFileSecretStore(path.join(dataDir, 'keys.safe-storage.json'), {
        name: 'Electron safeStorage',
        encrypt: (plain) => safeStorage.encryptString(plain),
        decrypt: (cipher) => safeStorage.decryptString(cipher),
      });
    }
    return new UnavailableSecretStore(keytarError instanceof Error ? keytarError.message : String(keytarError));
  }
}

function createWindow(core: Core): BrowserWindow {
  const win = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 960,
    minHeight: 640,
    title: 'ImageBench',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());

  // The window shows our renderer and nothing else: links open in the user's browser.
  win.webContents.on('will-navigate', (event, url) => {
    if (url !== rendererUrl) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });

  const unsubscribe = core.events.onAny((event, payload) => {
    if (!win.isDestroyed()) win.webContents.send('imagebench:event', event, payload);
  });
  win.on('closed', unsubscribe);
  void win.loadFile(rendererIndex);
  return win;
}

/** Only our own top frame may call the core. */
function senderIsTrusted(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && frame.url.split('#')[0] === rendererUrl;
}

async function start(): Promise<void> {
  await app.whenReady();
  const dataDir = resolveDataDir();
  const core = createCore({
    host: 'electron',
    version: app.getVersion(),
    dataDir,
    settingsFile: electronSettingsFile(dataDir),
    secrets: await openSecretStore(dataDir),
    providers: providerCatalog(process.env),
    env: process.env,
    executionProviders: listExecutionProviders,
    inspectModel: summarizeModelFolder,
    // Inference runs in a utility process: a native crash there cannot take the window down.
    localEngine: () => new WorkerEngine({ spawn: () => utilityProcessChannel(utilityProcess.fork(fileURLToPath(defaultWorkerEntry()), [], { serviceName: 'ImageBench inference' })) }),
    hostChecks: async () => [{ name: 'Electron', status: 'ok', detail: `${process.versions.electron} (Chromium ${process.versions.chrome})` }],
  });

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  ipcMain.handle('imagebench:call', async (event, name: unknown, input: unknown) => {
    if (!senderIsTrusted(event)) {
      return { ok: false, error: { code: 'unauthorized', message: 'Refused a call from an untrusted frame.', retryable: false } };
    }
    return core.dispatcher.dispatch(typeof name === 'string' ? name : '', input);
  });

  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    // Stop the inference worker and flush the database before the process goes.
    event.preventDefault();
    void core.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
  createWindow(core);
  void core.startBackgroundWork().catch((error: unknown) => console.error('Resuming cloud jobs failed:', error));
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(core);
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.enableSandbox();
void start().catch((error: unknown) => {
  console.error('ImageBench failed to start:', error);
  app.exit(2);
});
