import { AppError } from '../../contract/errors.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
// 57P01–57P03: the server is shutting down, crashed or still starting; 53300: no connection slot left.
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '53300']);
const CLIENT_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended/i;

/** True when the error means "PostgreSQL cannot be reached right now", as opposed to a query that failed. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof Unreachable) return true;
  if (typeof error !== 'object' || error === null) return false;
  const code = 'code' in error ? String(error.code) : '';
  if (NETWORK_CODES.has(code) || SERVER_GONE.has(code) || code.startsWith('08')) return true;
  return error instanceof Error && CLIENT_MESSAGES.test(error.message);
}

/**
 * The studio database went away during a transaction. `maybeCommitted` is true when COMMIT had been
 * sent: the server may have applied it, so whatever the seat does next must be safe either way.
 */
export class Unreachable extends Error {
  constructor(
    override readonly cause: unknown,
    readonly maybeCommitted: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'Unreachable';
  }
}

/** Errors from a call that needs the studio database, in words a user can act on. */
export function studioDatabaseError(error: unknown, where: string): unknown {
  if (error instanceof AppError) return error;
  if (isUnreachable(error)) {
    return new AppError('network', `The studio database (${where}) is unreachable.`, {
      hint: 'Check the network and that the database server is running; local previews keep working meanwhile.',
      retryable: true,
      cause: error instanceof Unreachable ? error.cause : error,
    });
  }
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === '57014' || code === '55P03') {
    return new AppError('network', `The studio database (${where}) is too busy to answer in time.`, { hint: 'Try again in a moment.', retryable: true, cause: error });
  }
  if (code === '28P01' || code === '28000') {
    return new AppError('unauthorized', `The studio database (${where}) refused the login.`, { hint: 'Check the user and the password saved for studio mode.', cause: error });
  }
  return error;
}
