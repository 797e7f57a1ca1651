import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import type { ProviderSummary } from '../../../src/contract/providers.js';
import { KeyService } from '../../../src/core/keys.js';
import { UnavailableSecretStore } from '../../../src/core/secrets/secret-store.js';
import { openTestKeychain } from '../../helpers/keychain.js';
import { listFiles, makeTempDir } from '../../helpers/tmp.js';

const providers: ProviderSummary[] = [
  { id: 'openai', displayName: 'OpenAI', keyRequired: true, officialApi: true },
  { id: 'stability', displayName: 'Stability AI', keyRequired: true, officialApi: true },
  { id: 'comfyui', displayName: 'ComfyUI', keyRequired: false, officialApi: true },
];
const service = `ImageBench-test-${process.pid}-${Date.now()}`;
const keychain = await openTestKeychain(service);

describe.skipIf(!keychain.store)(`keys in the real OS keychain ${keychain.reason}`, () => {
  const store = keychain.store!;
  const keys = new KeyService(store, providers, {});

  afterAll(async () => {
    for (const p of providers) await store.delete(`api-key:${p.id}`);
  });

  it('stores a key and shows only its last four characters', async () => {
    const status = await keys.set('openai', 'sk-test-abcdefgh1234');
    expect(status).toEqual({ provider: 'openai', set: true, source: 'keychain', last4: '1234' });
    expect(await store.get('api-key:openai')).toBe('sk-test-abcdefgh1234');
    expect(JSON.stringify(await keys.list())).not.toContain('abcdefgh');
  });

  it('lists only providers that take a key', async () => {
    const list = await keys.list();
    expect(list.map((s) => s.provider)).toEqual(['openai', 'stability']);
    expect(list.find((s) => s.provider === 'stability')).toEqual({ provider: 'stability', set: false, source: 'none', last4: null });
  });

  it('resolves the key for the request that needs it, and removes it', async () => {
    await keys.set('stability', 'sk-stab-99998888');
    expect(await keys.resolve('stability')).toBe('sk-stab-99998888');
    expect((await keys.remove('stability')).set).toBe(false);
    await expect(keys.resolve('stability')).rejects.toMatchObject({ code: 'key_missing' });
  });

  it('lets an env var override the keychain for headless use', async () => {
    const withEnv = new KeyService(store, providers, { IMAGEBENCH_OPENAI_API_KEY: 'sk-from-env-0000wxyz' });
    expect(await withEnv.status('openai')).toEqual({ provider: 'openai', set: true, source: 'env', last4: 'wxyz' });
    expect(await withEnv.resolve('openai')).toBe('sk-from-env-0000wxyz');
  });

  it('refuses a key for a provider that takes none', async () => {
    await expect(keys.set('comfyui', 'whatever-key')).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('without a keychain', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let keys: KeyService;
  beforeAll(() => {
    keys = new KeyService(new UnavailableSecretStore('no D-Bus session'), providers, {});
  });

  it('refuses to store, says why and how to fix it, and writes nothing', async () => {
    const error = await keys.set('openai', 'sk-test-abcdefgh1234').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('keychain_unavailable');
    expect((error as AppError).message).toContain('no D-Bus session');
    expect((error as AppError).hint).toMatch(/gnome-keyring|IMAGEBENCH_<PROVIDER>_API_KEY/);
    expect(listFiles(tmp.dir)).toEqual([]);
  });

  it('reports keys as not set and names the env var when one is needed', async () => {
    expect((await keys.status('openai')).set).toBe(false);
    await expect(keys.resolve('openai')).rejects.toThrowError(/No API key is set for OpenAI/);
    const error = (await keys.resolve('openai').catch((e: unknown) => e)) as AppError;
    expect(error.hint).toContain('IMAGEBENCH_OPENAI_API_KEY');
  });
});
