import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../../src/core/core.js';
import { createNodeCore } from '../../../src/core/node-host.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { makeTempDir } from '../../helpers/tmp.js';

const skip = postgresSkipReason();
const home = makeTempDir();
let pg: PostgresServer;
let core: Core;

const call = async (name: string, input: unknown) => {
  const result = await core.dispatcher.dispatch(name, input);
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value as Record<string, unknown>;
};

describe.skipIf(skip !== null)(`studio mode through the contract ${skip ?? ''}`, () => {
  beforeAll(async () => {
    pg = await startPostgres();
    core = await createNodeCore('cli', { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: `ImageBench-studio-test-${process.pid}` });
  }, 120_000);
  afterAll(async () => {
    await core?.close();
    await pg?.destroy();
    home.cleanup();
  });

  it('is off until connected', async () => {
    expect(await call('studio.status', {})).toMatchObject({ configured: false, online: false, policy: null });
  });

  it('connects, creates the schema and a default policy, and keeps no password in settings', async () => {
    const status = await call('studio.connect', { url: pg.url, studioId: 'acme', member: 'ana', seat: 'ana-laptop' });
    expect(status).toMatchObject({ configured: true, online: true, studioId: 'acme', member: 'ana', seat: 'ana-laptop', policy: { offlineRule: 'block', studioMonthlyCapUsd: null } });
    const settingsFile = fs.readFileSync(path.join(home.dir, 'data', 'settings.json'), 'utf8');
    expect(JSON.parse(settingsFile).studio).toMatchObject({ studioId: 'acme', member: 'ana' });
  });

  it('sets the studio policy in dollars and reads it back', async () => {
    const policy = await call('studio.setPolicy', { studioMonthlyCapUsd: 500, memberMonthlyLimitUsd: 50, maxPricePerImageUsd: 0.2, allowedProviders: ['openai', 'bfl'], offlineRule: 'allowance', offlineAllowanceUsd: 2 });
    expect(policy).toMatchObject({ studioMonthlyCapUsd: 500, memberMonthlyLimitUsd: 50, maxPricePerImageUsd: 0.2, allowedProviders: ['openai', 'bfl'], offlineRule: 'allowance', offlineAllowanceUsd: 2 });
    const again = await call('studio.setPolicy', { memberMonthlyLimitsUsd: { ana: 80 } });
    expect(again).toMatchObject({ studioMonthlyCapUsd: 500, memberMonthlyLimitsUsd: { ana: 80 } });
  });

  it('says so when the studio database is down, and recovers when it returns', async () => {
    await pg.stop();
    const down = await call('studio.status', {});
    expect(down).toMatchObject({ configured: true, online: false });
    expect(String(down.message)).toMatch(/unreachable.*offline rule/);
    await pg.start();
    expect(await call('studio.status', {})).toMatchObject({ online: true, policy: { studioMonthlyCapUsd: 500 } });
  }, 60_000);

  it('disconnects without touching the shared ledger', async () => {
    expect(await call('studio.disconnect', {})).toMatchObject({ configured: false });
  });
});
