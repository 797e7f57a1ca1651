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

export const useSettings = create<SettingsState>((set, get) => ({
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
    const before = get().settings;
    // Optimistic: controls follow the click at once; the core's answer (or a revert) follows.
    if (before) set({ settings: withValue(before, key, value) });
    try {
      set({ settings: await api.call('settings.set', { key, value }), error: null });
    } catch (error) {
      set({ settings: before, error: describeError(error) });
    }
  },
}));

api.subscribe('settings.changed', (settings) => useSettings.setState({ settings }));

function withValue(settings: Settings, key: string, value: unknown): Settings {
  const copy = structuredClone(settings) as unknown as Record<string, Record<string, unknown>>;
  const [group, leaf] = key.split('.');
  if (group === undefined) return settings;
  if (leaf === undefined) (copy as Record<string, unknown>)[group] = value;
  else if (copy[group]) copy[group][leaf] = value;
  return copy as unknown as Settings;
}
