import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { assertKeySafeUrl, classifyResponse, describeDetail, parseRetryAfterMs, transportError, type Dialect } from '../../../src/providers/http.js';
import { ProviderError } from '../../../src/providers/provider-error.js';
import { backoffDelayMs, retryOnlyRateLimits, withRetry } from '../../../src/providers/retry.js';

const dialect: Dialect = {
  provider: 'openai',
  displayName: 'OpenAI',
  describe: (body) => {
    const message = typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string' ? body.message : undefined;
    return { message };
  },
  special: (status, detail) => (status === 400 && detail.message?.includes('safety') ? { code: 'moderation', message: `refused: ${detail.message}` } : undefined),
};

const classify = (status: number, body: unknown, headers: Record<string, string> = {}, model?: string): ProviderError =>
  classifyResponse(dialect, status, new Headers(headers), typeof body === 'string' ? body : JSON.stringify(body), { apiKey: 'sk-secret-key-1', model });

describe('classifyResponse', () => {
  it('maps 401 and 403 to key_rejected with the keys-test hint, not retryable', () => {
    for (const status of [401, 403]) {
      const error = classify(status, { message: 'bad key sk-secret-key-1' });
      expect(error).toMatchObject({ code: 'key_rejected', retryable: false, status, hint: 'Check the key with `imagebench keys test openai`.' });
      expect(error.message).toBe(`OpenAI rejected the API key (HTTP ${status}): bad key [redacted key]`);
    }
  });

  it('maps 429 to a retryable rate_limited with the wait in ms', () => {
    expect(classify(429, { message: 'slow down' }, { 'retry-after': '7' })).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterMs: 7_000 });
  });

  it('maps 5xx and 408 to retryable provider_error', () => {
    expect(classify(503, 'Service Unavailable')).toMatchObject({ code: 'provider_error', retryable: true, message: 'OpenAI had a server error (HTTP 503): Service Unavailable' });
    expect(classify(408, '')).toMatchObject({ retryable: true });
  });

  it('lets the dialect recognise moderation before the generic rules', () => {
    expect(classify(400, { message: 'blocked by the safety system' })).toMatchObject({ code: 'moderation', retryable: false });
  });

  it('keeps the provider message on other 4xx, not retryable', () => {
    expect(classify(400, { message: "Invalid value for 'size'" })).toMatchObject({
      code: 'provider_error',
      retryable: false,
      message: "OpenAI refused the request (HTTP 400): Invalid value for 'size'",
    });
  });

  it('recognises a 404/400 that names the model as gone', () => {
    expect(classify(404, { message: 'The model `dall-e-3` does not exist' }, {}, 'dall-e-3')).toMatchObject({ code: 'model_invalid', retryable: false });
    expect(classify(404, { message: 'No such route' }, {}, 'dall-e-3').code).toBe('provider_error');
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-20T10:00:00Z');
  it('reads seconds, an HTTP date and retry-after-ms', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3_000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Fri, 20 Nov 2026 10:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Fri, 20 Nov 2026 09:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('describeDetail', () => {
  it('turns FastAPI validation lists into words', () => {
    expect(describeDetail([{ loc: ['body', 'steps'], msg: 'too small' }, { msg: 'also bad' }])).toBe('body.steps: too small; also bad');
    expect(describeDetail('plain')).toBe('plain');
    expect(describeDetail(undefined)).toBeUndefined();
  });
});

describe('withRetry', () => {
  const transient = (retryAfterMs?: number): ProviderError => new ProviderError('fal', 'provider_error', 'boom', { retryable: true, retryAfterMs });

  it('retries retryable errors a bounded number of times with exponential backoff and jitter', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const error = await withRetry(
      () => {
        calls += 1;
        return Promise.reject(transient());
      },
      { sleep: (ms) => Promise.resolve(void sleeps.push(ms)), random: () => 0, attempts: 4, baseDelayMs: 1_000 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(calls).toBe(4);
    // Equal jitter with random() = 0: half of 1 s, 2 s, 4 s.
    expect(sleeps).toEqual([500, 1_000, 2_000]);
  });

  it('caps the backoff and spreads it with the random source', () => {
    expect(backoffDelayMs(10, { baseDelayMs: 1_000, maxDelayMs: 30_000, random: () => 1 })).toBe(30_000);
    expect(backoffDelayMs(1, { baseDelayMs: 1_000, random: () => 0.5 })).toBe(1_500);
  });

  it('waits exactly what the server asked for', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const result = await withRetry(
      () => {
        calls += 1;
        return calls === 1 ? Promise.reject(transient(4_200)) : Promise.resolve('ok');
      },
      { sleep: (ms) => Promise.resolve(void sleeps.push(ms)) },
    );
    expect(result).toBe('ok');
    expect(sleeps).toEqual([4_200]);
  });

  it('hands a wait longer than the cap back to the caller instead of sleeping', async () => {
    const sleeps: number[] = [];
    const failure = withRetry(() => Promise.reject(transient(120_000)), { sleep: (ms) => Promise.resolve(void sleeps.push(ms)), maxRetryAfterMs: 60_000 });
    await expect(failure).rejects.toMatchObject({ retryAfterMs: 120_000 });
    expect(sleeps).toEqual([]);
  });

  it('stops as cancelled when the caller aborts during a backoff wait', async () => {
    const controller = new AbortController();
    const failure = withRetry(
      () => {
        controller.abort();
        return Promise.reject(transient());
      },
      { signal: controller.signal },
    );
    await expect(failure).rejects.toMatchObject({ code: 'cancelled', message: 'Cancelled while waiting to retry: boom' });
  });

  it('does not retry what is not retryable, nor what the rule excludes', async () => {
    let calls = 0;
    const fail = (error: AppError) => () => {
      calls += 1;
      return Promise.reject(error);
    };
    await expect(withRetry(fail(new AppError('moderation', 'no')), { sleep: () => Promise.resolve() })).rejects.toMatchObject({ code: 'moderation' });
    expect(calls).toBe(1);
    await expect(withRetry(fail(transient()), { sleep: () => Promise.resolve(), rule: retryOnlyRateLimits })).rejects.toBeInstanceOf(ProviderError);
    expect(calls).toBe(2);
  });
});

describe('assertKeySafeUrl', () => {
  it('allows the same origin and the provider’s own https site, refuses other hosts', () => {
    expect(assertKeySafeUrl(dialect, 'https://api.bfl.ai', 'https://api.eu.bfl.ai/v1/get_result?id=1')).toBe('https://api.eu.bfl.ai/v1/get_result?id=1');
    expect(assertKeySafeUrl(dialect, 'http://127.0.0.1:9000/v1', 'http://127.0.0.1:9000/v1/x')).toBe('http://127.0.0.1:9000/v1/x');
    expect(() => assertKeySafeUrl(dialect, 'https://api.bfl.ai', 'https://bfl.ai.evil.example/x')).toThrow(/key is not sent there/);
    expect(() => assertKeySafeUrl(dialect, 'https://api.bfl.ai', 'http://api.eu.bfl.ai/x')).toThrow(ProviderError);
  });
});

describe('a connection that was never made', () => {
  it('says nothing was sent and may be retried, even for a submit', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    const dialect = { provider: 'openai', displayName: 'OpenAI' } as Dialect;
    const error = transportError(dialect, { baseUrl: 'http://127.0.0.1:9', fetch }, refused, false);
    expect(error.retryable).toBe(true);
    expect(error.hint).toContain('Nothing was sent');
    const dropped = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    const after = transportError(dialect, { baseUrl: 'http://127.0.0.1:9', fetch }, dropped, false);
    expect(after.retryable).toBe(false);
    expect(after.hint).toContain('may have accepted and billed it');
  });
});
