import { AppError, toErrorPayload, type ErrorPayload } from '../../contract/errors.js';
import { formatUsd, microsToUsd } from '../../contract/money.js';
import { ProviderError, redactKey } from '../../providers/provider-error.js';
import type { ProviderInfo } from '../../providers/types.js';

/**
 * What a failed submit means for the money, decided from what happened on the wire rather than from
 * error wording: if the provider never answered the POST, or answered it with 2xx, the job may exist
 * and be billed, so it must not be released and must not be sent again.
 */
export type SubmitOutcome =
  /** The provider refused it, or nothing was sent: release the reservation. */
  | 'refused'
  /** The provider says it charged for it anyway (Stability CONTENT_FILTERED). */
  | 'billed'
  /** Sent, and maybe accepted: keep the reservation, never re-send, ask the user to check. */
  | 'unknown';

/** What the counting fetch saw while the submit call ran. */
export interface WireRecord {
  /** Non-GET requests sent (the submit POST and its 429 retries). */
  sends: number;
  /** A non-GET request got a 2xx: the provider accepted something. */
  accepted: boolean;
  /** A non-GET request got no answer (dropped connection, timeout) after it may have been read: it may have been accepted. */
  unanswered: boolean;
}

export function newWireRecord(): WireRecord {
  return { sends: 0, accepted: false, unanswered: false };
}

/** Wraps `fetch` so the job knows whether its POST went out and what came back. */
export function recordingFetch(inner: typeof fetch, record: WireRecord): typeof fetch {
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET' || method === 'HEAD') return inner(input, init);
    record.sends += 1;
    try {
      const response = await inner(input, init);
      if (response.ok) record.accepted = true;
      return response;
    } catch (error) {
      // A connection that was never made carried nothing; any other failure may come after the
      // provider read the whole request.
      if (!neverConnected(error)) record.unanswered = true;
      throw error;
    }
  };
}

/** Errors undici raises before a connection exists (refused, no such host, no route, connect timeout). */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function neverConnected(error: unknown): boolean {
  for (let e: unknown = error; typeof e === 'object' && e !== null; e = 'cause' in e ? e.cause : undefined) {
    if ('code' in e && typeof e.code === 'string' && CONNECT_FAILURES.has(e.code)) return true;
  }
  return false;
}

export function classifySubmitFailure(error: unknown, wire: WireRecord): SubmitOutcome {
  if (error instanceof ProviderError && error.actualCost) return 'billed';
  // A refusal on content is the provider's verdict on this job, even when it came inside a 2xx
  // (Replicate's `Prefer: wait`); not retried, and not billed unless the provider said so above.
  if (error instanceof AppError && error.code === 'moderation') return 'refused';
  if (wire.accepted || wire.unanswered) return 'unknown';
  return 'refused';
}

/** An error as stored and shown: the key removed from every word, in case a provider echoed it. */
export function errorPayload(error: unknown, apiKey?: string): ErrorPayload {
  const payload = toErrorPayload(error);
  return {
    ...payload,
    message: redactKey(payload.message, apiKey),
    hint: payload.hint === undefined ? undefined : redactKey(payload.hint, apiKey),
  };
}

function timeLabel(at: number): string {
  return new Date(at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

function siteOf(info: ProviderInfo): string {
  try {
    return new URL(info.keyHelpUrl).origin;
  } catch {
    return info.displayName;
  }
}

/**
 * The explanation an unknown submission carries: what happened, why it was not re-sent, what is
 * held, what to look for on the provider's side, and how to let the money go.
 */
export function unknownSubmissionMessage(input: {
  info: ProviderInfo;
  model: string;
  sentAt: number;
  reservedMicros: number | null;
  cause: 'crash' | 'no-answer' | 'unreadable-answer';
  detail?: string;
}): string {
  const { info, model } = input;
  const what = {
    crash: `ImageBench stopped while it was sending this job to ${info.displayName}`,
    'no-answer': `The connection to ${info.displayName} broke after the request was sent`,
    'unreadable-answer': `${info.displayName} accepted the request but ImageBench could not read the result`,
  }[input.cause];
  const held = input.reservedMicros === null ? 'Nothing was reserved for it.' : `The ${formatUsd(microsToUsd(input.reservedMicros))} reserved for it stays held in your budget.`;
  return [
    `${what}${input.detail ? ` (${input.detail})` : ''}, so it is not known whether ${info.displayName} ran and billed it.`,
    'It was not sent again: no provider offers a way to make a second send safe, and it could be billed twice.',
    held,
    `Check the usage or history page of your ${info.displayName} account (${siteOf(info)}) for a ${model} request around ${timeLabel(input.sentAt)}:`,
    'if it is there, it was billed — release this job with the amount billed; if it is not, release it to return the reservation.',
  ].join(' ');
}
