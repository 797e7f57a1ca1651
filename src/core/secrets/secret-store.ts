import { AppError } from '../../contract/errors.js';

/** Where provider keys live. Implementations never log, cache to disk or return a secret except from `get`. */
export interface SecretStore {
  readonly kind: 'keychain' | 'safe-storage' | 'none';
  /** Human-readable name of the backend, shown by `doctor` and the Settings screen. */
  readonly backend: string;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

export const SECRET_SERVICE = 'ImageBench';

/** Used when no keychain can be reached: reads find nothing, writes refuse and say how to fix it. */
export class UnavailableSecretStore implements SecretStore {
  readonly kind = 'none' as const;
  readonly backend: string;

  constructor(private readonly reason: string) {
    this.backend = `none (${reason})`;
  }

  async get(): Promise<string | null> {
    return null;
  }

  async set(): Promise<void> {
    throw this.refusal();
  }

  async delete(): Promise<boolean> {
    return false;
  }

  private refusal(): AppError {
    return new AppError('keychain_unavailable', `No OS keychain is available, so the key was not stored (${this.reason}).`, {
      hint: keychainHint(),
    });
  }
}

export function keychainHint(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'linux') {
    return 'Start and unlock a Secret Service keyring (GNOME Keyring or KWallet; on a headless machine: `dbus-run-session -- sh -c "echo -n <password> | gnome-keyring-daemon --unlock --components=secrets; imagebench ..."`), or set IMAGEBENCH_<PROVIDER>_API_KEY in the environment. Keys are never written to disk in plain text.';
  }
  return 'Unlock your system keychain and try again, or set IMAGEBENCH_<PROVIDER>_API_KEY in the environment. Keys are never written to disk in plain text.';
}
