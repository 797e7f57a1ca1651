import { create } from 'zustand';
import type { AppInfo, Settings } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from './errors.js';

interface SettingsState {
  settings: Settings | null;
  info: AppInfo | null;
  error: string | null;
  load(): Promise<void>;
  update(key: string, value: unknown): Promise<void>;
}

export const useSettings = create<SettingsState>((set) => ({
  settings: null,
  info: null,
  error: null,
  async load() {
    try {
      const [settings, info] = await Promise.all([api.call('settings.get', {}), api.call('app.info', {})]);
      set({ settings, info, error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async update(key, value) {
    try {
      set({ settings: await api.call('settings.set', { key, value }), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
}));

api.subscribe('settings.changed', (settings) => useSettings.setState({ settings }));
