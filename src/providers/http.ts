import { z } from 'zod';
import type { ErrorCode } from '../contract/errors.js';
import { ProviderError, redactKey } from './provider-error.js';
import { retryOnlyRateLimits, retryWhenRetryable, withRetry, type RetryRule } from './retry.js';
import type { ProviderContext, ProviderId } from './types.js';

/**
 * The one place where a provider's HTTP answer becomes an AppError. Each provider module supplies a
 * small `Dialect` (how its error bodies look, what its moderation and billing refusals look like);
 * the status-code rules are shared.
 */

export interface ErrorDetail {
  /** The provider's own words, kept so the user sees what the provider said. */
  message?: string;
  code?: string;
  retryAfterMs?: number;
}

export interface SpecialCase {
  code: ErrorCode;
  message: string;
  hint?: string;
  retryable?: boolean;
  /** A wait the provider implies without a header (Stability: back off at least 10 s on 429). */
  retryAfterMs?: number;
}

export interface Dialect {
  provider: ProviderId;
  displayName: string;
  /** Reads the provider's error body shape; gets `undefined` when the body was not JSON. */
  describe(body: unknown): ErrorDetail;
  /** Provider-specific outcomes (moderation, billing, odd key errors) checked before the generic rules. */
  special?(status: number, detail: ErrorDetail, headers: Headers): SpecialCase | undefined;
  requestIdHeader?: string;
}

const ValidationItem = z.object({ loc: z.array(z.union([z.string(), z.number()])).optional(), msg: z.string() });

/**
 * FastAPI-style `detail` (fal, BFL, A1111, Replicate): a string, or a list of `{ loc, msg }` validation
 * items, turned into words a user can act on ("body.steps: too small").
 */
export function describeDetail(detail: unknown): string | undefined {
  if (detail === undefined || detail === null) return undefined;
  if (typeof detail === 'string') return detail;
  const items = z.array(ValidationItem).safeParse(detail);
  if (items.success) return items.data.map((i) => (i.loc?.length ? `${i.loc.join('.')}: ${i.msg}` : i.msg)).join('; ');
  return JSON.stringify(detail);
}

export interface ClassifyOptions {
  apiKey?: string;
  /** The model asked for; a 400/404 naming it as gone becomes `model_invalid`. */
  model?: string;
}

export function keyHint(provider: ProviderId): string {
  return `Check the key with \`imagebench keys test ${provider}\`.`;
}

/** `Retry-After` is seconds or an HTTP date; OpenAI also sends `retry-after-ms`. */
export function parseRetryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const RETIRED_WORDS = /(retired|deprecated|removed|shut ?down|does not exist|not found|no longer (available|supported)|unknown model|not supported)/i;

export function classifyResponse(
  dialect: Dialect,
  status: number,
  headers: Headers,
  bodyText: string,
  options: ClassifyOptions = {},
): ProviderError {
  const detail = dialect.describe(parseJsonLoose(bodyText));
  const providerWords = redactKey((detail.message ?? bodyText.slice(0, 300)).trim(), options.apiKey);
  const requestId = headers.get(dialect.requestIdHeader ?? 'x-request-id') ?? undefined;
  const name = dialect.displayName;
  const said = providerWords ? `: ${providerWords}` : '.';
  const base = { status, requestId };

  const special = dialect.special?.(status, { ...detail, message: providerWords }, headers);
  if (special) {
    return new ProviderError(dialect.provider, special.code, redactKey(special.message, options.apiKey), {
      ...base,
      hint: special.hint,
      retryable: special.retryable ?? false,
      retryAfterMs: special.retryable ? (parseRetryAfterMs(headers) ?? detail.retryAfterMs ?? special.retryAfterMs) : undefined,
    });
  }
  if (status === 401 || status === 403) {
    return new ProviderError(dialect.provider, 'key_rejected', `${name} rejected the API key (HTTP ${status})${said}`, {
      ...base,
      hint: keyHint(dialect.provider),
    });
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfterMs(headers) ?? detail.retryAfterMs;
    return new ProviderError(dialect.provider, 'rate_limited', `${name} is rate-limiting requests (HTTP 429)${said}`, {
      ...base,
      retryable: true,
      retryAfterMs,
      hint: 'ImageBench retries after the wait the provider asks for; lower concurrency if this keeps happening.',
    });
  }
  if (status >= 500 || status === 408) {
    return new ProviderError(dialect.provider, 'provider_error', `${name} had a server error (HTTP ${status})${said}`, {
      ...base,
      retryable: true,
      hint: 'This is on the provider side; try again in a moment.',
    });
  }
  if ((status === 404 || status === 400) && options.model && providerWords.includes(options.model) && RETIRED_WORDS.test(providerWords)) {
    return new ProviderError(dialect.provider, 'model_invalid', `${name} no longer serves model "${options.model}"${said}`, {
      ...base,
      hint: 'The model was probably retired; pick a current model for this provider.',
    });
  }
  return new ProviderError(dialect.provider, 'provider_error', `${name} refused the request (HTTP ${status})${said}`, {
    ...base,
    hint: 'The request was not retried; change the settings the message names and send it again.',
  });
}

export function malformed(dialect: Dialect, what: string, problem: string, requestId?: string): ProviderError {
  return new ProviderError(dialect.provider, 'provider_error', `${dialect.displayName} sent a malformed ${what}: ${problem}`, {
    requestId,
    hint: 'The provider may have changed its API; nothing was retried. Report this with the request id if it persists.',
  });
}

export interface SendOptions {
  /** Only a request that cannot create a billed job (GET, cancel) is re-sent after a dropped connection. */
  idempotent: boolean;
  model?: string;
  /** Overrides which failures are re-sent (fal: a 5xx submit is never charged, so it may be re-sent). */
  rule?: RetryRule;
}

/** One fetch, classified: resolves only with a 2xx response. */
export async function send(
  dialect: Dialect,
  ctx: ProviderContext,
  url: string,
  init: RequestInit,
  options: SendOptions,
): Promise<Response> {
  let res: Response;
  try {
    res = await ctx.fetch(url, { ...init, signal: ctx.signal });
  } catch (error) {
    throw transportError(dialect, ctx, error, options.idempotent);
  }
  if (res.ok) return res;
  const text = await readText(dialect, ctx, res, options.idempotent);
  throw classifyResponse(dialect, res.status, res.headers, text, { apiKey: ctx.apiKey, model: options.model });
}

export async function readText(dialect: Dialect, ctx: ProviderContext, res: Response, idempotent: boolean): Promise<string> {
  try {
    return await res.text();
  } catch (error) {
    throw transportError(dialect, ctx, error, idempotent);
  }
}

export async function readBytes(dialect: Dialect, ctx: ProviderContext, res: Response, idempotent: boolean): Promise<Uint8Array> {
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (error) {
    throw transportError(dialect, ctx, error, idempotent);
  }
}

/** Parses a 2xx body with the provider's schema; nothing from outside is cast. */
export async function readJson<S extends z.ZodType>(
  dialect: Dialect,
  ctx: ProviderContext,
  res: Response,
  schema: S,
  what: string,
  idempotent: boolean,
): Promise<z.infer<S>> {
  const text = await readText(dialect, ctx, res, idempotent);
  const requestId = res.headers.get(dialect.requestIdHeader ?? 'x-request-id') ?? undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(dialect, what, `the body is not JSON (${JSON.stringify(redactKey(text.slice(0, 60), ctx.apiKey))}…)`, requestId);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    throw malformed(dialect, what, `${where}: ${issue?.message ?? 'unexpected shape'}`, requestId);
  }
  return parsed.data;
}

/**
 * Sends with retries and parses the JSON answer. Reads retry on anything retryable; a request that may
 * create a billed job retries only on rate limits unless the provider says failures are free.
 */
export async function requestJson<S extends z.ZodType>(
  dialect: Dialect,
  ctx: ProviderContext,
  url: string,
  init: RequestInit,
  schema: S,
  what: string,
  options: SendOptions,
): Promise<{ data: z.infer<S>; response: Response }> {
  const rule = options.rule ?? (options.idempotent ? retryWhenRetryable : retryOnlyRateLimits);
  return withRetry(
    async () => {
      const response = await send(dialect, ctx, url, init, options);
      const data = await readJson(dialect, ctx, response, schema, what, options.idempotent);
      return { data, response };
    },
    { ...ctx.retry, rule, signal: ctx.signal },
  );
}

export function transportError(dialect: Dialect, ctx: ProviderContext, error: unknown, idempotent: boolean): ProviderError {
  if (ctx.signal?.aborted) {
    return new ProviderError(dialect.provider, 'cancelled', `The request to ${dialect.displayName} was cancelled.`, {
      hint: idempotent ? undefined : 'If the provider had already accepted it, it may still be billed.',
    });
  }
  const reason = redactKey(describeTransport(error), ctx.apiKey);
  if (neverConnected(error)) {
    // The connection was never made, so nothing reached the provider: nothing can have been billed.
    return new ProviderError(dialect.provider, 'network', `Could not reach ${dialect.displayName}: ${reason}`, {
      retryable: true,
      hint: 'Nothing was sent. Check the network connection (or the provider base URL), then try again.',
    });
  }
  const hint = idempotent
    ? 'Check the network connection; ImageBench retries reads automatically.'
    : `The connection broke after the request was sent, so ${dialect.displayName} may have accepted and billed it. ` +
      'It was not re-sent; check the provider dashboard before sending it again.';
  return new ProviderError(dialect.provider, 'network', `Could not reach ${dialect.displayName}: ${reason}`, {
    retryable: idempotent,
    hint,
  });
}

const CONNECT_PHASE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function neverConnected(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = cause instanceof Error && 'code' in cause ? String(cause.code) : '';
  return CONNECT_PHASE_CODES.has(code);
}

function describeTransport(error: unknown): string {
  if (!(error instanceof Error)) return 'connection failed';
  const cause = error.cause;
  const causeText = cause instanceof Error ? `${cause.message}${'code' in cause ? ` (${String(cause.code)})` : ''}` : '';
  return causeText ? `${error.message}: ${causeText}` : error.message;
}

function parseJsonLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Polling URLs come from the provider's answer; the key is sent to them only when they are on the
 * provider's own site (BFL answers with regional hosts such as api.eu.bfl.ai).
 */
export function assertKeySafeUrl(dialect: Dialect, baseUrl: string, candidate: string): string {
  let base: URL;
  let url: URL;
  try {
    base = new URL(baseUrl);
    url = new URL(candidate, baseUrl);
  } catch {
    throw malformed(dialect, 'job URL', `"${candidate}" is not a URL`);
  }
  const site = (host: string): string => host.split('.').slice(-2).join('.');
  const sameOrigin = url.origin === base.origin;
  const sameSite = url.protocol === 'https:' && site(url.hostname) === site(base.hostname);
  if (!sameOrigin && !sameSite) {
    throw malformed(dialect, 'job URL', `${url.origin} is not on ${base.hostname}; the key is not sent there`);
  }
  return url.toString();
}
