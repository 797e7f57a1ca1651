import type pg from 'pg';
import { z } from 'zod';
import { AppError } from '../../contract/errors.js';
import { assertTimeZone } from './periods.js';
import { usd, type SpendRequest } from './spend-request.js';

const Micros = z.number().int().nonnegative();

/** One studio's shared rules, read by every seat; amounts in micro-dollars. */
export const StudioPolicySchema = z.object({
  studioId: z.string().min(1),
  allowedProviders: z.array(z.string()).nullable(),
  /** Entries are `provider:model`. */
  allowedModels: z.array(z.string()).nullable(),
  maxPricePerImageMicros: Micros.nullable(),
  /** For members without an entry in `memberMonthlyLimits`. */
  memberMonthlyLimitMicros: Micros.nullable(),
  memberMonthlyLimits: z.record(z.string(), Micros),
  studioMonthlyCapMicros: Micros.nullable(),
  /** While the database is unreachable: refuse paid calls, or allow each seat a small allowance. */
  offlineRule: z.enum(['block', 'allowance']),
  offlineAllowanceMicros: Micros,
  /** Months are calendar months on this zone's wall clock. */
  timeZone: z.string().min(1),
  updatedAt: z.string(),
});
export type StudioPolicy = z.infer<typeof StudioPolicySchema>;

export type StudioPolicyInput = Partial<Omit<StudioPolicy, 'studioId' | 'updatedAt'>>;

const DEFAULTS: Omit<StudioPolicy, 'studioId' | 'updatedAt'> = {
  allowedProviders: null,
  allowedModels: null,
  maxPricePerImageMicros: null,
  memberMonthlyLimitMicros: null,
  memberMonthlyLimits: {},
  studioMonthlyCapMicros: null,
  offlineRule: 'block',
  offlineAllowanceMicros: 0,
  timeZone: 'UTC',
};

export interface PolicyRow {
  studio_id: string;
  allowed_providers: string[] | null;
  allowed_models: string[] | null;
  max_price_per_image_micros: string | null;
  member_monthly_limit_micros: string | null;
  member_monthly_limits: Record<string, number>;
  studio_monthly_cap_micros: string | null;
  offline_rule: 'block' | 'allowance';
  offline_allowance_micros: string;
  time_zone: string;
  updated_at: Date;
}

/** pg returns bigint as a string (it may not fit a double); micro-dollar amounts always do. */
const num = (value: string | null): number | null => (value === null ? null : Number(value));

export function policyFromRow(row: PolicyRow): StudioPolicy {
  return StudioPolicySchema.parse({
    studioId: row.studio_id,
    allowedProviders: row.allowed_providers,
    allowedModels: row.allowed_models,
    maxPricePerImageMicros: num(row.max_price_per_image_micros),
    memberMonthlyLimitMicros: num(row.member_monthly_limit_micros),
    memberMonthlyLimits: row.member_monthly_limits,
    studioMonthlyCapMicros: num(row.studio_monthly_cap_micros),
    offlineRule: row.offline_rule,
    offlineAllowanceMicros: Number(row.offline_allowance_micros),
    timeZone: row.time_zone,
    updatedAt: row.updated_at.toISOString(),
  });
}

/** Creates or replaces a studio's policy (an admin action); fields left out take the defaults. */
export async function writePolicy(client: pg.ClientBase, studioId: string, input: StudioPolicyInput): Promise<StudioPolicy> {
  const p = { ...DEFAULTS, ...input };
  assertTimeZone(p.timeZone);
  StudioPolicySchema.parse({ ...p, studioId, updatedAt: '' });
  const { rows } = await client.query<PolicyRow>(
    `INSERT INTO imagebench.studio_policy (studio_id, allowed_providers, allowed_models, max_price_per_image_micros, member_monthly_limit_micros,
       member_monthly_limits, studio_monthly_cap_micros, offline_rule, offline_allowance_micros, time_zone, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp())
     ON CONFLICT (studio_id) DO UPDATE SET allowed_providers = excluded.allowed_providers, allowed_models = excluded.allowed_models,
       max_price_per_image_micros = excluded.max_price_per_image_micros, member_monthly_limit_micros = excluded.member_monthly_limit_micros,
       member_monthly_limits = excluded.member_monthly_limits, studio_monthly_cap_micros = excluded.studio_monthly_cap_micros,
       offline_rule = excluded.offline_rule, offline_allowance_micros = excluded.offline_allowance_micros, time_zone = excluded.time_zone,
       updated_at = excluded.updated_at
     RETURNING *`,
    [studioId, p.allowedProviders, p.allowedModels, p.maxPricePerImageMicros, p.memberMonthlyLimitMicros, JSON.stringify(p.memberMonthlyLimits),
      p.studioMonthlyCapMicros, p.offlineRule, p.offlineAllowanceMicros, p.timeZone],
  );
  const row = rows[0];
  if (!row) throw new AppError('internal', 'Writing the studio policy returned no row.');
  return policyFromRow(row);
}

/** Provider, model and price-per-image rules: what a seat can check before touching any budget. */
export function checkPolicyRules(policy: StudioPolicy, request: SpendRequest, reservedMicros: number): void {
  const askAdmin = 'Pick an allowed model, or ask your studio admin to change the policy.';
  if (policy.allowedProviders && !policy.allowedProviders.includes(request.provider)) {
    throw new AppError('invalid_input', `The studio policy does not allow ${request.provider} (allowed: ${policy.allowedProviders.join(', ') || 'none'}).`, { hint: askAdmin });
  }
  const model = `${request.provider}:${request.model}`;
  if (policy.allowedModels && !policy.allowedModels.includes(model)) {
    throw new AppError('invalid_input', `The studio policy does not allow ${model}.`, { hint: askAdmin });
  }
  const perImage = Math.ceil(reservedMicros / Math.max(1, request.images ?? 1));
  if (policy.maxPricePerImageMicros !== null && perImage > policy.maxPricePerImageMicros) {
    throw new AppError('budget_exceeded', `This request may cost up to ${usd(perImage)} per image; the studio allows at most ${usd(policy.maxPricePerImageMicros)}.`, {
      hint: 'Pick a cheaper model or a smaller size, or ask your studio admin to raise the limit.',
    });
  }
}

/** The studio cap and the member's monthly limit, given what this month has used so far. */
export function checkMonthlyLimits(policy: StudioPolicy, member: string, used: { studioMicros: number; memberMicros: number }, reservedMicros: number): void {
  const cap = policy.studioMonthlyCapMicros;
  if (cap !== null && used.studioMicros + reservedMicros > cap) {
    throw new AppError('budget_exceeded', `This request may cost up to ${usd(reservedMicros)}, but the studio has ${usd(Math.max(0, cap - used.studioMicros))} left of its ${usd(cap)} monthly cap.`, {
      hint: 'The cap resets at the start of next month; your studio admin can raise it.',
    });
  }
  const limit = policy.memberMonthlyLimits[member] ?? policy.memberMonthlyLimitMicros;
  if (limit !== null && used.memberMicros + reservedMicros > limit) {
    throw new AppError('budget_exceeded', `This request may cost up to ${usd(reservedMicros)}, but ${member} has ${usd(Math.max(0, limit - used.memberMicros))} left of a ${usd(limit)} monthly limit.`, {
      hint: 'The limit resets at the start of next month; your studio admin can raise it.',
    });
  }
}
