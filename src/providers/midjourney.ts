import { AppError } from '../contract/errors.js';
import type { ImageProvider, ProviderInfo } from './types.js';

/**
 * Midjourney (reference §10) has no official public developer API. The "Midjourney APIs" on offer
 * automate a user's Discord or web session against Midjourney's terms and can get accounts banned, so
 * ImageBench lists it, explains why, and never sends anything.
 */

const REASON =
  'Midjourney has no official public API (it is used through its web app and Discord). Third-party "Midjourney APIs" ' +
  "automate someone's session against Midjourney's terms and can get accounts banned, so ImageBench does not call them.";

const info: ProviderInfo = {
  id: 'midjourney',
  displayName: 'Midjourney',
  keyRequired: false,
  keyHelpUrl: 'https://docs.midjourney.com',
  defaultBaseUrl: 'https://www.midjourney.com',
  officialApi: false,
  note: REASON,
};

function unavailable(): AppError {
  return new AppError('invalid_input', REASON, {
    hint: 'Use Midjourney in its own app, or pick another provider (for example bfl or ideogram) for the final.',
  });
}

export const midjourneyProvider: ImageProvider = {
  info,
  models: () => [],
  estimate: () => ({ kind: 'unknown', reason: 'Midjourney has no official API and no per-image price; it is sold as a subscription.' }),
  submit: () => Promise.reject(unavailable()),
  poll: () => Promise.reject(unavailable()),
  verifyKey: () => Promise.resolve({ ok: false, message: REASON }),
};
