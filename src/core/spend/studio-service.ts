import os from 'node:os';
import { AppError } from '../../contract/errors.js';
import { microsToUsd, usdToMicros } from '../../contract/money.js';
import type { StudioPolicyView, StudioStatus } from '../../contract/studio.js';
import type { SqliteDatabase } from '../db/sqlite.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { SpendGate } from '../finals/spend-gate.js';
import { StudioLedger } from './studio-pg.js';
import type { StudioPolicy, StudioPolicyInput } from './studio-policy.js';

const PASSWORD_ACCOUNT = 'studio-db-password';

export interface StudioConnectInput {
  url: string;
  studioId: string;
  member: string;
  seat?: string;
  password?: string;
}

/**
 * Studio mode from the settings: the studio's PostgreSQL URL (without its password, which lives in
 * the keychain), the studio id, who this member is and which seat this installation is.
 */
export class StudioService {
  private current: { key: string; ledger: StudioLedger } | null = null;

  constructor(
    private readonly settings: SettingsService,
    private readonly secrets: SecretStore,
    private readonly local: SqliteDatabase,
  ) {}

  get configured(): boolean {
    const s = this.settings.get().studio;
    return s.url !== '' && s.studioId !== '' && s.member !== '';
  }

  /** The studio ledger, or null outside studio mode. Rebuilt when the settings change. */
  async ledger(): Promise<StudioLedger | null> {
    if (!this.configured) return null;
    const s = this.settings.get().studio;
    const key = JSON.stringify(s);
    if (this.current?.key !== key) {
      await this.current?.ledger.close();
      const password = (await this.secrets.get(PASSWORD_ACCOUNT)) ?? undefined;
      this.current = { key, ledger: new StudioLedger({ url: s.url, password, studioId: s.studioId, member: s.member, seat: s.seat || os.hostname(), local: this.local }) };
    }
    return this.current.ledger;
  }

  /** The studio's shared ledger as a gate every final must also pass; null outside studio mode. */
  async gate(): Promise<SpendGate | null> {
    const ledger = await this.ledger();
    if (!ledger) return null;
    return {
      reserve: async (request) => {
        await ledger.reserve({ ...request, member: this.settings.get().studio.member });
      },
      settle: async (id, actual) => {
        await ledger.settle(id, actual);
      },
      failBilled: async (id, actual, reason) => {
        await ledger.failBilled(id, actual, reason);
      },
      release: async (id, reason) => {
        await ledger.release(id, reason);
      },
    };
  }

  async connect(input: StudioConnectInput): Promise<StudioStatus> {
    const url = new URL(input.url);
    // A password typed into the URL goes to the keychain, never into settings.json.
    const password = input.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    url.password = '';
    const candidate = new StudioLedger({
      url: url.toString(),
      password,
      studioId: input.studioId,
      member: input.member,
      seat: input.seat ?? os.hostname(),
      local: this.local,
    });
    try {
      await candidate.migrate();
      await candidate.policy().catch(async (error: unknown) => {
        // A new studio has no policy yet: create the default one (no caps, offline = block).
        if (error instanceof AppError && error.code === 'not_found') return candidate.setPolicy({});
        throw error;
      });
    } catch (error) {
      await candidate.close();
      throw error;
    }
    await candidate.close();
    if (password !== undefined) await this.secrets.set(PASSWORD_ACCOUNT, password);
    this.settings.set('studio.url', url.toString());
    this.settings.set('studio.studioId', input.studioId);
    this.settings.set('studio.member', input.member);
    this.settings.set('studio.seat', input.seat ?? os.hostname());
    return this.status();
  }

  async disconnect(): Promise<StudioStatus> {
    await this.current?.ledger.close();
    this.current = null;
    for (const key of ['studio.url', 'studio.studioId', 'studio.member', 'studio.seat']) this.settings.reset(key);
    await this.secrets.delete(PASSWORD_ACCOUNT);
    return this.status();
  }

  async status(): Promise<StudioStatus> {
    const s = this.settings.get().studio;
    const ledger = await this.ledger();
    const base = { url: s.url || null, studioId: s.studioId || null, member: s.member || null, seat: s.seat || null };
    if (!ledger) return { configured: false, online: false, ...base, policy: null, pendingSync: 0, message: 'Studio mode is off: spend is tracked on this computer only.' };
    const pendingSync = ledger.pendingOutbox().length;
    try {
      if (pendingSync > 0) await ledger.sync();
      const policy = await ledger.policy();
      const left = ledger.pendingOutbox().length;
      return { configured: true, online: true, ...base, policy: toView(policy), pendingSync: left, message: `Connected to studio ${s.studioId} as ${s.member}.` };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return { configured: true, online: false, ...base, policy: null, pendingSync, message: `The studio database is unreachable (${why}). Previews keep working; paid finals follow the studio's offline rule.` };
    }
  }

  async setPolicy(input: {
    allowedProviders?: string[] | null;
    allowedModels?: string[] | null;
    maxPricePerImageUsd?: number | null;
    memberMonthlyLimitUsd?: number | null;
    memberMonthlyLimitsUsd?: Record<string, number>;
    studioMonthlyCapUsd?: number | null;
    offlineRule?: 'block' | 'allowance';
    offlineAllowanceUsd?: number;
    timeZone?: string;
  }): Promise<StudioPolicyView> {
    const ledger = await this.ledger();
    if (!ledger) throw new AppError('invalid_input', 'Studio mode is off.', { hint: 'Connect first: `imagebench studio connect <postgresql://…> --studio <id> --member <you>`.' });
    const micros = (usd: number | null | undefined) => (usd === undefined ? undefined : usd === null ? null : usdToMicros(usd));
    const patch: StudioPolicyInput = {
      allowedProviders: input.allowedProviders,
      allowedModels: input.allowedModels,
      maxPricePerImageMicros: micros(input.maxPricePerImageUsd),
      memberMonthlyLimitMicros: micros(input.memberMonthlyLimitUsd),
      memberMonthlyLimits: input.memberMonthlyLimitsUsd
        ? Object.fromEntries(Object.entries(input.memberMonthlyLimitsUsd).map(([member, usd]) => [member, usdToMicros(usd)]))
        : undefined,
      studioMonthlyCapMicros: micros(input.studioMonthlyCapUsd),
      offlineRule: input.offlineRule,
      offlineAllowanceMicros: input.offlineAllowanceUsd === undefined ? undefined : usdToMicros(input.offlineAllowanceUsd),
      timeZone: input.timeZone,
    };
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as StudioPolicyInput;
    const { studioId: _id, updatedAt: _at, ...current } = await ledger.policy();
    return toView(await ledger.setPolicy({ ...current, ...defined }));
  }

  async close(): Promise<void> {
    await this.current?.ledger.close();
    this.current = null;
  }
}

function toView(p: StudioPolicy): StudioPolicyView {
  const usd = (m: number | null) => (m === null ? null : microsToUsd(m));
  return {
    studioId: p.studioId,
    allowedProviders: p.allowedProviders,
    allowedModels: p.allowedModels,
    maxPricePerImageUsd: usd(p.maxPricePerImageMicros),
    memberMonthlyLimitUsd: usd(p.memberMonthlyLimitMicros),
    memberMonthlyLimitsUsd: Object.fromEntries(Object.entries(p.memberMonthlyLimits).map(([k, v]) => [k, microsToUsd(v)])),
    studioMonthlyCapUsd: usd(p.studioMonthlyCapMicros),
    offlineRule: p.offlineRule,
    offlineAllowanceUsd: microsToUsd(p.offlineAllowanceMicros),
    timeZone: p.timeZone,
    updatedAt: p.updatedAt,
  };
}
