import { create } from 'zustand';
import type { KeyStatus, ProviderId, ProviderSummary } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from './errors.js';

interface KeyFeedback {
  kind: 'ok' | 'error';
  text: string;
}

interface KeysState {
  providers: ProviderSummary[];
  statuses: KeyStatus[];
  busy: Partial<Record<ProviderId, boolean>>;
  feedback: Partial<Record<ProviderId, KeyFeedback>>;
  load(): Promise<void>;
  save(provider: ProviderId, key: string): Promise<boolean>;
  remove(provider: ProviderId): Promise<void>;
  test(provider: ProviderId): Promise<void>;
}

export const useKeys = create<KeysState>((set, get) => {
  const run = async (provider: ProviderId, op: () => Promise<KeyFeedback>): Promise<boolean> => {
    set({ busy: { ...get().busy, [provider]: true } });
    let feedback: KeyFeedback;
    try {
      feedback = await op();
    } catch (error) {
      feedback = { kind: 'error', text: describeError(error) };
    }
    set({ busy: { ...get().busy, [provider]: false }, feedback: { ...get().feedback, [provider]: feedback } });
    return feedback.kind === 'ok';
  };
  const replace = (status: KeyStatus) => set({ statuses: get().statuses.map((s) => (s.provider === status.provider ? status : s)) });

  return {
    providers: [],
    statuses: [],
    busy: {},
    feedback: {},
    async load() {
      const [providers, statuses] = await Promise.all([api.call('providers.list', {}), api.call('keys.list', {})]);
      set({ providers, statuses });
    },
    save: (provider, key) =>
      run(provider, async () => {
        const status = await api.call('keys.set', { provider, key });
        replace(status);
        return { kind: 'ok', text: `Saved to the ${status.source === 'safe-storage' ? 'encrypted store' : 'keychain'}.` };
      }),
    remove: async (provider) => {
      await run(provider, async () => {
        const status = await api.call('keys.remove', { provider });
        replace(status);
        return { kind: 'ok', text: status.set ? `Removed from the keychain; ${status.source} still provides a key.` : 'Removed.' };
      });
    },
    test: async (provider) => {
      await run(provider, async () => {
        const result = await api.call('keys.test', { provider });
        return { kind: result.ok ? 'ok' : 'error', text: result.message };
      });
    },
  };
});

api.subscribe('keys.changed', (statuses) => useKeys.setState({ statuses }));
