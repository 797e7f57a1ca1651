import { KeytarSecretStore } from '../../src/core/secrets/keytar-store.js';

/**
 * The real OS keychain for tests, under a service name of its own so runs never
 * touch a user's keys. Inside `npm test` (IMAGEBENCH_IN_KEYRING=1) a missing
 * keychain is a failure, not a skip.
 */
export async function openTestKeychain(service: string): Promise<{ store: KeytarSecretStore | null; reason: string }> {
  try {
    return { store: await KeytarSecretStore.open({ service, timeoutMs: 5_000 }), reason: '' };
  } catch (error) {
    if (process.env.IMAGEBENCH_IN_KEYRING) throw error;
    return { store: null, reason: `no keychain reachable (${(error as Error).message}); run through \`npm test\`, which starts one` };
  }
}
