import { describe, expect, it } from 'vitest';
import { baseUrlEnvName, resolveBaseUrl } from '../../../src/providers/base-url.js';
import { getProvider, listProviders } from '../../../src/providers/registry.js';
import { ProviderIdSchema } from '../../../src/providers/types.js';
import { failureOf } from './conformance.js';

describe('the provider registry', () => {
  it('has one provider per id, in contract order', () => {
    expect(listProviders().map((p) => p.info.id)).toEqual(ProviderIdSchema.options);
    for (const id of ProviderIdSchema.options) expect(getProvider(id).info.id).toBe(id);
  });

  it('explains an unknown id', () => {
    expect(() => getProvider('dalle')).toThrow(/There is no provider "dalle"/);
  });

  it('marks self-hosted servers keyless and Midjourney unofficial', () => {
    const keyless = listProviders().filter((p) => !p.info.keyRequired).map((p) => p.info.id);
    expect(keyless).toEqual(['comfyui', 'a1111', 'midjourney']);
    expect(listProviders().filter((p) => !p.info.officialApi).map((p) => p.info.id)).toEqual(['midjourney']);
  });

  it('lists every model with capabilities a UI can use', () => {
    for (const provider of listProviders()) {
      for (const model of provider.models()) {
        expect(model.capabilities.maxImagesPerCall, `${provider.info.id}/${model.id}`).toBeGreaterThanOrEqual(1);
        expect(['current', 'legacy', 'deprecated', 'retired']).toContain(model.lifecycle.status);
      }
    }
  });
});

describe('resolveBaseUrl', () => {
  const openai = getProvider('openai').info;
  it('uses the documented default unless IMAGEBENCH_<PROVIDER>_BASE_URL overrides it', () => {
    expect(resolveBaseUrl(openai, {})).toBe('https://api.openai.com/v1');
    expect(baseUrlEnvName(openai)).toBe('IMAGEBENCH_OPENAI_BASE_URL');
    expect(resolveBaseUrl(openai, { IMAGEBENCH_OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1/' })).toBe('http://127.0.0.1:4010/v1');
    expect(resolveBaseUrl(getProvider('comfyui').info, { IMAGEBENCH_COMFYUI_BASE_URL: 'http://gpu-box:8188' })).toBe('http://gpu-box:8188');
  });

  it('refuses a non-URL, another scheme, or credentials in the URL (without echoing them)', () => {
    expect(() => resolveBaseUrl(openai, { IMAGEBENCH_OPENAI_BASE_URL: 'not a url' })).toThrow(/is not a URL/);
    expect(() => resolveBaseUrl(openai, { IMAGEBENCH_OPENAI_BASE_URL: 'ftp://x' })).toThrow(/http\(s\)/);
    let message = '';
    try {
      resolveBaseUrl(openai, { IMAGEBENCH_OPENAI_BASE_URL: 'https://me:hunter2@proxy.test' });
    } catch (error) {
      message = error instanceof Error ? error.message : '';
    }
    expect(message).toMatch(/must not carry credentials/);
    expect(message).not.toContain('hunter2');
  });
});

describe('midjourney', () => {
  const midjourney = getProvider('midjourney');
  it('is listed and explained, never faked', async () => {
    expect(midjourney.info).toMatchObject({ officialApi: false, note: expect.stringContaining('no official public API') });
    expect(midjourney.models()).toEqual([]);
    expect(midjourney.estimate({ model: 'v7', prompt: 'x', aspectRatio: '1:1', n: 1 }).kind).toBe('unknown');
    let called = false;
    const ctx = {
      baseUrl: 'https://www.midjourney.com',
      fetch: () => {
        called = true;
        return Promise.reject(new Error('must not be called'));
      },
    };
    const error = await failureOf(midjourney.submit({ model: 'v7', prompt: 'x', aspectRatio: '1:1', n: 1 }, ctx));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(/no official public API/);
    await expect(midjourney.verifyKey(ctx)).resolves.toMatchObject({ ok: false });
    expect(called).toBe(false);
  });
});
