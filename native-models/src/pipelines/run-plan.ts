/**
 * A request checked against a model folder and completed with the folder's defaults: size,
 * steps, guidance, scheduler, image-to-image strength. Every refusal here is an `invalid_input`
 * the user can fix, raised before any session is touched.
 */
import { AppError } from '../../../src/contract/errors.js';
import { GenerateRequestSchema, type GenerateRequest, type InitImage, type ParsedGenerateRequest } from '../engine.js';
import type { ModelFolder } from '../models/model-folder.js';
import { createScheduler, SchedulerConfigError, schedulerNameForClass, type Scheduler, type SchedulerName } from '../schedulers/index.js';

export interface RunPlan {
  readonly request: ParsedGenerateRequest;
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  readonly steps: number;
  readonly guidanceScale: number;
  /** Two UNet passes per step, [negative, positive] (reference §3.1). */
  readonly classifierFreeGuidance: boolean;
  readonly schedulerName: SchedulerName;
  /** Image-to-image: the init image and strength; null for text-to-image. */
  readonly img2img: { readonly image: InitImage; readonly strength: number } | null;
  readonly sdxl: boolean;
}

export function parseRequest(input: GenerateRequest): ParsedGenerateRequest {
  const parsed = GenerateRequestSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue !== undefined && issue.path.length > 0 ? issue.path.join('.') : 'request';
  throw new AppError('invalid_input', `Invalid generation request: ${where}: ${issue?.message ?? 'unexpected value'}`, {
    hint: 'Check the preview settings (size, steps, guidance, seed) and try again.',
  });
}

export function planRun(folder: ModelFolder, input: GenerateRequest): RunPlan {
  const request = parseRequest(input);
  const init = request.initImage ?? null;
  const width = request.width ?? init?.width ?? folder.defaults.width;
  const height = request.height ?? init?.height ?? folder.defaults.height;
  checkSize('Width', width);
  checkSize('Height', height);
  if (init !== null && (init.width !== width || init.height !== height)) {
    throw new AppError('invalid_input', `The init image is ${init.width}×${init.height} but the output is ${width}×${height}`, {
      hint: 'Resize the init image to the output size before starting image-to-image.',
    });
  }
  if (init === null && request.strength !== undefined) {
    throw new AppError('invalid_input', 'Strength only applies to image-to-image, and no init image was given', {
      hint: 'Pass an init image, or leave strength out for text-to-image.',
    });
  }

  const lcmUnet = folder.family === 'lcm';
  const schedulerName = request.scheduler ?? schedulerNameForClass(folder.scheduler.className) ?? 'euler';
  if (lcmUnet !== (schedulerName === 'lcm')) {
    throw new AppError('invalid_input', lcmUnet ? `An LCM model needs the lcm scheduler, not ${schedulerName}` : `The lcm scheduler only works with LCM models; this is ${folder.family}`, {
      hint: lcmUnet ? 'Leave the scheduler unset or choose lcm.' : 'Leave the scheduler unset or choose euler / euler-ancestral.',
    });
  }
  const guidanceScale = request.guidanceScale ?? folder.defaults.guidanceScale;
  const sdxl = folder.family === 'sdxl' || folder.family === 'sdxl-turbo';
  return {
    request,
    width,
    height,
    batch: request.batchSize,
    steps: request.steps ?? folder.defaults.steps,
    guidanceScale,
    // LCM distils guidance into timestep_cond and never runs CFG (reference §1.3).
    classifierFreeGuidance: !lcmUnet && guidanceScale > 1,
    schedulerName,
    img2img: init === null ? null : { image: init, strength: request.strength ?? defaultStrength(folder) },
    sdxl,
  };
}

/** The scheduler for the plan, its timesteps set (image-to-image: only the tail; reference §3.4). */
export function schedulerFor(folder: ModelFolder, plan: RunPlan): Scheduler {
  let scheduler: Scheduler;
  try {
    scheduler = createScheduler(folder.scheduler.config, plan.schedulerName);
  } catch (error) {
    if (!(error instanceof SchedulerConfigError)) throw error;
    throw new AppError('model_invalid', `${folder.root}/scheduler/scheduler_config.json: ${error.message}`, {
      hint: 'Choose another scheduler, or fix the scheduler config of this model folder.',
      cause: error,
    });
  }
  const strength = plan.img2img?.strength ?? 1;
  try {
    scheduler.setTimesteps(plan.steps, strength);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new AppError('invalid_input', error.message, {
      hint:
        plan.img2img !== null
          ? 'Raise the steps or the strength so that steps × strength is at least 1 (turbo: 2 steps at strength 0.5).'
          : 'Choose a step count the model supports (turbo: 1–4, LCM: 2–8).',
      cause: error,
    });
  }
  return scheduler;
}

/** diffusers' img2img defaults: 0.8 (SD), 0.3 (SDXL); the turbo model cards use 0.5 with 2 steps. */
function defaultStrength(folder: ModelFolder): number {
  if (folder.turbo) return 0.5;
  return folder.family === 'sdxl' ? 0.3 : 0.8;
}

function checkSize(label: 'Width' | 'Height', value: number): void {
  if (value % 8 !== 0) {
    const lower = Math.max(8, Math.floor(value / 8) * 8);
    throw new AppError('invalid_input', `${label} ${value} is not a multiple of 8`, {
      hint: `Stable Diffusion works on 8×8-pixel latent blocks; use ${lower} or ${lower + 8} (multiples of 64 are safest).`,
    });
  }
}
