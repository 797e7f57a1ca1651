import type { FinalJobView, FinalSubmit } from '../../contract/finals.js';
import { formatEstimate, microsToUsd } from '../../contract/money.js';
import type { FinalRequestInput } from './final-request.js';
import type { SubmitOptions } from './finals-service.js';
import type { FinalJob } from './job-store.js';

/** What crosses the contract: no pending-job internals, money in dollars, times as ISO strings. */
export function toJobView(job: FinalJob): FinalJobView {
  return {
    id: job.id,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    provider: job.provider,
    model: job.model,
    prompt: job.request.prompt,
    status: job.status,
    estimateText: formatEstimate(job.estimate),
    actualUsd: job.actual?.usd ?? null,
    actualSource: job.actual?.source ?? null,
    cacheSavedUsd: job.cacheSavedMicros === null ? null : microsToUsd(job.cacheSavedMicros),
    imageIds: job.imageIds,
    initImageId: job.request.initImage?.imageId ?? null,
    message: job.message,
    error: job.error ? { code: job.error.code, message: job.error.message, hint: job.error.hint } : null,
  };
}

export function fromSubmit(input: FinalSubmit, project: string): { request: FinalRequestInput; options: SubmitOptions } {
  const { confirmedAboveUsd, confirmUnknownPriceMaxUsd, allowCachedRandomSeed, initImageId, strength, ...rest } = input;
  return {
    request: { ...rest, ...(initImageId ? { initImage: { imageId: initImageId, strength } } : {}), ...(project ? { project } : {}) },
    options: {
      confirmedAboveUsd,
      confirmUnknownPrice: confirmUnknownPriceMaxUsd === undefined ? undefined : { maxUsd: confirmUnknownPriceMaxUsd },
      allowCachedRandomSeed,
    },
  };
}

