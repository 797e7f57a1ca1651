import { create } from 'zustand';
import type { DownloadProgress, ModelEntry } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from './errors.js';

interface ModelsState {
  models: ModelEntry[];
  loaded: boolean;
  busy: boolean;
  error: string | null;
  download: DownloadProgress | null;
  load(): Promise<void>;
  importFolder(path: string): Promise<boolean>;
  downloadArchive(url: string, sha256?: string): Promise<boolean>;
  remove(id: string, deleteFiles: boolean): Promise<void>;
}

export const useModels = create<ModelsState>((set, get) => {
  const run = async (op: () => Promise<unknown>): Promise<boolean> => {
    set({ busy: true, error: null });
    try {
      await op();
      return true;
    } catch (error) {
      set({ error: describeError(error) });
      return false;
    } finally {
      set({ busy: false, download: null });
    }
  };
  return {
    models: [],
    loaded: false,
    busy: false,
    error: null,
    download: null,
    async load() {
      if (get().loaded) return;
      await run(async () => set({ models: await api.call('models.list', {}), loaded: true }));
    },
    importFolder: (path) => run(() => api.call('models.import', { path })),
    downloadArchive: (url, sha256) => run(() => api.call('models.download', { url, ...(sha256 ? { sha256 } : {}) })),
    remove: async (id, deleteFiles) => {
      await run(() => api.call('models.remove', { id, deleteFiles }));
    },
  };
});

api.subscribe('models.changed', (models) => useModels.setState({ models, loaded: true }));
api.subscribe('models.downloadProgress', (download) => useModels.setState({ download: download.phase === 'done' ? null : download }));
