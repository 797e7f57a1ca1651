import { AppError } from '../contract/errors.js';
import { keyEnvVar, type KeyStatus, type ProviderId, type ProviderSummary } from '../contract/providers.js';
import type { SecretStore } from './secrets/secret-store.js';

/**
 * Provider keys: the keychain is the store, an IMAGEBENCH_<PROVIDER>_API_KEY
 * env var overrides it for headless use. Outside this class a key exists only
 * inside the request that needs it; everything else sees `KeyStatus`.
 */
export class KeyService {
  constructor(
    private readonly store: SecretStore,
    private readonly providers: readonly ProviderSummary[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async list(): Promise<KeyStatus[]> {
    const needing = this.providers.filter((p) => p.keyRequired);
    return Promise.all(needing.map((p) => this.status(p.id)));
  }

  async status(provider: ProviderId): Promise<KeyStatus> {
    const fromEnv = this.env[keyEnvVar(provider)]?.trim();
    if (fromEnv) return { provider, set: true, source: 'env', last4: lastFour(fromEnv) };
    const stored = await this.store.get(account(provider));
    if (stored) return { provider, set: true, source: this.store.kind === 'none' ? 'none' : this.store.kind, last4: lastFour(stored) };
    return { provider, set: false, source: 'none', last4: null };
  }

  async set(provider: ProviderId, key: string): Promise<KeyStatus> {
    this.requireKeyed(provider);
    await this.store.set(account(provider), key);
    return this.status(provider);
  }

  async remove(provider: ProviderId): Promise<KeyStatus> {
    await this.store.delete(account(provider));
    return this.status(provider);
  }

  /** The key itself, for the one request that needs it. Never pass the result anywhere else. */
  async resolve(provider: ProviderId): Promise<string> {
    const fromEnv = this.env[keyEnvVar(provider)]?.trim();
    if (fromEnv) return fromEnv;
    const stored = await this.store.get(account(provider));
    if (stored) return stored;
    throw new AppError('key_missing', `No API key is set for ${this.displayName(provider)}.`, {
      hint: `Add one in Settings → Keys, or run \`imagebench keys set ${provider}\` (the key is read from stdin), or set ${keyEnvVar(provider)}.`,
    });
  }

  private requireKeyed(provider: ProviderId): void {
    const info = this.providers.find((p) => p.id === provider);
    if (!info?.keyRequired) {
      throw new AppError('invalid_input', `${this.displayName(provider)} does not use an API key.`, {
        hint: info?.note ?? 'Set its server address in Settings instead.',
      });
    }
  }

  private displayName(provider: ProviderId): string {
    return this.providers.find((p) => p.id === provider)?.displayName ?? provider;
  }
}

function account(provider: ProviderId): string {
  return `api-key:${provider}`;
}

function lastFour(key: string): string | null {
  return key.length >= 4 ? key.slice(-4) : null;
}
