import { z } from 'zod';

export const StudioPolicyViewSchema = z.object({
  studioId: z.string(),
  allowedProviders: z.array(z.string()).nullable(),
  allowedModels: z.array(z.string()).nullable(),
  maxPricePerImageUsd: z.number().nullable(),
  memberMonthlyLimitUsd: z.number().nullable(),
  memberMonthlyLimitsUsd: z.record(z.string(), z.number()),
  studioMonthlyCapUsd: z.number().nullable(),
  offlineRule: z.enum(['block', 'allowance']),
  offlineAllowanceUsd: z.number(),
  timeZone: z.string(),
  updatedAt: z.string(),
});
export type StudioPolicyView = z.infer<typeof StudioPolicyViewSchema>;

export const StudioStatusSchema = z.object({
  configured: z.boolean(),
  /** Whether the studio database answered just now. */
  online: z.boolean(),
  url: z.string().nullable(),
  studioId: z.string().nullable(),
  member: z.string().nullable(),
  seat: z.string().nullable(),
  policy: StudioPolicyViewSchema.nullable(),
  /** Rows spent or finished offline that are waiting to reach the studio database. */
  pendingSync: z.number().int(),
  message: z.string(),
});
export type StudioStatus = z.infer<typeof StudioStatusSchema>;

export const StudioConnectSchema = z
  .object({
    /** postgresql://user@host:port/database — the password goes in `password`, which is kept in the keychain. */
    url: z.string().regex(/^postgres(ql)?:\/\//, 'A studio database URL starts with postgresql://'),
    studioId: z.string().min(1).max(80),
    member: z.string().min(1).max(80),
    seat: z.string().min(1).max(80).optional(),
    password: z.string().max(1024).optional(),
  })
  .strict();

export const StudioPolicySetSchema = z
  .object({
    allowedProviders: z.array(z.string()).nullable().optional(),
    allowedModels: z.array(z.string()).nullable().optional(),
    maxPricePerImageUsd: z.number().nonnegative().nullable().optional(),
    memberMonthlyLimitUsd: z.number().nonnegative().nullable().optional(),
    memberMonthlyLimitsUsd: z.record(z.string(), z.number().nonnegative()).optional(),
    studioMonthlyCapUsd: z.number().nonnegative().nullable().optional(),
    offlineRule: z.enum(['block', 'allowance']).optional(),
    offlineAllowanceUsd: z.number().nonnegative().optional(),
    timeZone: z.string().min(1).optional(),
  })
  .strict();
