import { z } from 'zod';

/**
 * Errors are values a user can act on: what failed, why, and what to do next.
 * `code` is stable for programs; `message` and `hint` are for people.
 */
export const ErrorCodeSchema = z.enum([
  'invalid_input',
  'not_found',
  'unauthorized',
  'keychain_unavailable',
  'key_missing',
  'key_rejected',
  'provider_error',
  'rate_limited',
  'moderation',
  'budget_exceeded',
  'cancelled',
  'model_invalid',
  'disk_full',
  'network',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorPayloadSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  hint: z.string().optional(),
  retryable: z.boolean().default(false),
});
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>;

/** An error the user caused or can fix (exit code 1 in the CLI); anything else is internal (exit code 2). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { hint?: string; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
  }

  get isUserError(): boolean {
    return this.code !== 'internal';
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, hint: this.hint, retryable: this.retryable };
  }

  static fromPayload(payload: ErrorPayload): AppError {
    return new AppError(payload.code, payload.message, { hint: payload.hint, retryable: payload.retryable });
  }
}

export function toErrorPayload(error: unknown): ErrorPayload {
  if (error instanceof AppError) return error.toPayload();
  return {
    code: 'internal',
    message: error instanceof Error ? error.message : String(error),
    hint: 'This is a bug in ImageBench. Run `imagebench doctor` and report it with the output.',
    retryable: false,
  };
}
