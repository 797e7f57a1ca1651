import { AppError, toErrorPayload, type ErrorPayload } from '../contract/errors.js';

/** Exit codes: 0 ok, 1 a user error with a one-line reason, 2 an internal error. */
export const EXIT_OK = 0;
export const EXIT_USER = 1;
export const EXIT_INTERNAL = 2;

export interface Output {
  json: boolean;
  result(value: unknown, human: () => string): void;
  fail(error: unknown): number;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(value, human) {
      stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
    },
    fail(error) {
      const payload: ErrorPayload = toErrorPayload(error);
      if (json) stdout.write(JSON.stringify({ ok: false, error: payload }, null, 2) + '\n');
      else stderr.write(`error: ${payload.message}\n${payload.hint ? `hint: ${payload.hint}\n` : ''}`);
      return payload.code === 'internal' ? EXIT_INTERNAL : EXIT_USER;
    },
  };
}

export function userError(message: string, hint?: string): AppError {
  return new AppError('invalid_input', message, { hint });
}
