import { AppError } from '../../../src/contract/index.js';

/** One line a person can act on: the message, then what to do. */
export function describeError(error: unknown): string {
  if (error instanceof AppError) return error.hint ? `${error.message} ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
}
