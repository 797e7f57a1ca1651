import { AppError } from '../../contract/errors.js';
import { SECRET_SERVICE, keychainHint, type SecretStore } from './secret-store.js';

type Keytar = typeof import('keytar');

/** A locked keyring can block for ~25 s waiting on a prompt nobody sees; give up well before that. */
const KEYCHAIN_TIMEOUT_MS = 8_000;

export function keychainName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'macOS Keychain';
  if (platform === 'win32') return 'Windows Credential Manager';
  return 'Secret Service (libsecret)';
}

export class KeytarSecretStore implements SecretStore {
  readonly kind = 'keychain' as const;
  readonly backend = keychainName();

  private constructor(
    private readonly keytar: Keytar,
    private readonly service: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Loads keytar and makes one read, so a missing native module, a missing
   * D-Bus session or a locked keyring is found now rather than on the first save.
   */
  static async open(options: { service?: string; timeoutMs?: number } = {}): Promise<KeytarSecretStore> {
    let keytar: Keytar;
    try {
      const loaded = (await import('keytar')) as Keytar & { default?: Keytar };
      keytar = loaded.default ?? loaded;
    } catch (error) {
      throw new AppError('keychain_unavailable', `The keychain module could not be loaded: ${describe(error)}.`, {
        hint: 'Reinstall ImageBench (`npm run setup`); on Linux, install libsecret-1-0.',
        cause: error,
      });
    }
    const store = new KeytarSecretStore(keytar, options.service ?? SECRET_SERVICE, options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS);
    await store.get('__probe__');
    return store;
  }

  get(account: string): Promise<string | null> {
    return this.guard('read', () => this.keytar.getPassword(this.service, account));
  }

  async set(account: string, secret: string): Promise<void> {
    await this.guard('write', () => this.keytar.setPassword(this.service, account, secret));
  }

  delete(account: string): Promise<boolean> {
    return this.guard('delete', () => this.keytar.deletePassword(this.service, account));
  }

  private async guard<T>(action: string, op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError('keychain_unavailable', `The ${this.backend} did not answer a ${action} within ${this.timeoutMs / 1000} s; it is probably locked.`, {
              hint: keychainHint(),
            }),
          ),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([op(), timeout]);
    } catch (error) {
      if (error instanceof AppError) throw error;
      // keytar throws plain Errors without a code; its message is safe (it never contains the secret).
      throw new AppError('keychain_unavailable', `The ${this.backend} refused a ${action}: ${describe(error)}.`, {
        hint: keychainHint(),
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : String(error);
}
