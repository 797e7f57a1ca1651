import { AppError } from '../contract/errors.js';
import type { ProviderInfo } from './types.js';

export function baseUrlEnvName(info: Pick<ProviderInfo, 'id'>): string {
  return `IMAGEBENCH_${info.id.toUpperCase()}_BASE_URL`;
}

/**
 * The provider's documented base URL unless `IMAGEBENCH_<PROVIDER>_BASE_URL` overrides it (a proxy,
 * a regional host, a ComfyUI on another machine, or a test's loopback fake). No trailing slash.
 */
export function resolveBaseUrl(info: ProviderInfo, env: Record<string, string | undefined> = process.env): string {
  const name = baseUrlEnvName(info);
  const raw = env[name]?.trim() || info.defaultBaseUrl;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid_input', `${name} is not a URL: "${raw}".`, { hint: `Set it like ${info.defaultBaseUrl}, or unset it.` });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('invalid_input', `${name} must be an http(s) URL, not ${url.protocol}.`);
  }
  if (url.username || url.password) {
    throw new AppError('invalid_input', `${name} must not carry credentials; keys are stored in the keychain.`);
  }
  return url.toString().replace(/\/+$/, '');
}
