import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../contract/errors.js';
import type { SecretStore } from './secret-store.js';

/** Encryption supplied by the host, e.g. Electron's safeStorage (DPAPI, Keychain-held key, kwallet/libsecret key). */
export interface StringCipher {
  readonly name: string;
  encrypt(plain: string): Buffer;
  decrypt(cipher: Buffer): string;
}

/**
 * Fallback when keytar cannot reach a keychain but the host can still encrypt
 * (Electron safeStorage). Only ciphertext touches the disk; the file is 0600.
 */
export class EncryptedFileSecretStore implements SecretStore {
  readonly kind = 'safe-storage' as const;
  readonly backend: string;

  constructor(
    private readonly file: string,
    private readonly cipher: StringCipher,
  ) {
    this.backend = `${cipher.name} (encrypted file)`;
  }

  async get(account: string): Promise<string | null> {
    const entry = this.readAll()[account];
    return entry === undefined ? null : this.cipher.decrypt(Buffer.from(entry, 'base64'));
  }

  async set(account: string, secret: string): Promise<void> {
    const all = this.readAll();
    all[account] = this.cipher.encrypt(secret).toString('base64');
    this.writeAll(all);
  }

  async delete(account: string): Promise<boolean> {
    const all = this.readAll();
    if (!(account in all)) return false;
    delete all[account];
    this.writeAll(all);
    return true;
  }

  private readAll(): Record<string, string> {
    if (!fs.existsSync(this.file)) return {};
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
      return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch (error) {
      throw new AppError('keychain_unavailable', `The encrypted key file ${this.file} is unreadable.`, {
        hint: 'Move it aside and set your keys again.',
        cause: error,
      });
    }
  }

  private writeAll(all: Record<string, string>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
