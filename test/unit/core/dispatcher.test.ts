import { describe, expect, it } from 'vitest';
import { calls } from '../../../src/contract/index.js';
import { Dispatcher, type Handlers } from '../../../src/core/dispatcher.js';

const info = { name: 'ImageBench' as const, version: '1.2.3', host: 'cli' as const, dataDir: '/tmp/x', keychainBackend: 'test' };

function dispatcherWith(overrides: Partial<Handlers>): Dispatcher {
  const unused = async () => {
    throw new Error('not used in this test');
  };
  const handlers = Object.fromEntries(Object.keys(calls).map((name) => [name, unused])) as unknown as Handlers;
  return new Dispatcher({ ...handlers, ...overrides });
}

describe('dispatcher', () => {
  it('returns the parsed output of a known call', async () => {
    const d = dispatcherWith({ 'app.info': async () => info });
    expect(await d.dispatch('app.info', {})).toEqual({ ok: true, value: info });
  });

  it('refuses an unknown call by name', async () => {
    const result = await dispatcherWith({}).dispatch('keys.dump', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'not_found', message: 'Unknown call "keys.dump".' } });
  });

  it('parses input and reports the failing field', async () => {
    const d = dispatcherWith({});
    const result = await d.dispatch('keys.set', { provider: 'openai', key: 'has spaces in it' });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(!result.ok && result.error.message).toMatch(/^key: A key has no spaces/);
    const extra = await d.dispatch('app.info', { sneaky: true });
    expect(extra).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('strips fields a handler should not have returned', async () => {
    const leaky = { ...info, secret: 'sk-should-not-leave' };
    const result = await dispatcherWith({ 'app.info': async () => leaky }).dispatch('app.info', {});
    expect(JSON.stringify(result)).not.toContain('sk-should-not-leave');
  });

  it('turns a malformed handler result into an internal error', async () => {
    const result = await dispatcherWith({ 'app.info': async () => ({ ...info, version: 7 }) as never }).dispatch('app.info', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('turns a thrown error into a payload with a hint', async () => {
    const result = await dispatcherWith({ 'doctor.run': async () => { throw new Error('boom'); } }).dispatch('doctor.run', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'internal', message: 'boom' } });
    expect(!result.ok && result.error.hint).toMatch(/doctor/);
  });
});
