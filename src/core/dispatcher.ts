import type { z } from 'zod';
import { AppError, toErrorPayload } from '../contract/errors.js';
import { calls, isCallName, type CallName, type CallOutput, type CallResult, type Calls } from '../contract/index.js';

export type Handlers = {
  [K in CallName]: (input: z.output<Calls[K]['input']>) => Promise<CallOutput<K>>;
};

/**
 * The single entry point every host uses. Input from outside is parsed, never
 * cast; output is parsed too, so a handler bug cannot leak an unexpected field
 * (a key, say) across the border.
 */
export class Dispatcher {
  constructor(private readonly handlers: Handlers) {}

  async dispatch(name: string, rawInput: unknown): Promise<CallResult> {
    try {
      if (!isCallName(name)) throw new AppError('not_found', `Unknown call "${name}".`);
      const value = await this.invoke(name, rawInput);
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error: toErrorPayload(error) };
    }
  }

  private async invoke<K extends CallName>(name: K, rawInput: unknown): Promise<CallOutput<K>> {
    const spec = calls[name];
    const input = spec.input.safeParse(rawInput ?? {});
    if (!input.success) {
      const issue = input.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      throw new AppError('invalid_input', `${where}${issue?.message ?? 'invalid input'}`);
    }
    const handler = this.handlers[name] as (input: unknown) => Promise<unknown>;
    const output = spec.output.safeParse(await handler(input.data));
    if (!output.success) throw new AppError('internal', `The core returned a malformed "${name}" result.`);
    return output.data as CallOutput<K>;
  }
}
