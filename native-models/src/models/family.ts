/**
 * Which Stable Diffusion family a folder holds, told from its configs (reference §1.3), and what
 * follows from that: default size/steps/guidance (§1.5) and the licence to show (§8).
 * Pure functions over parsed configs; model-folder.ts does the reading.
 */
import { AppError } from '../../../src/contract/errors.js';

export type ModelFamily = 'sd15' | 'lcm' | 'sd2' | 'sdxl' | 'sdxl-turbo';

/** The config values detection looks at, already parsed. */
export interface FamilySignals {
  readonly crossAttentionDim: number;
  readonly timeCondProjDim: number | null;
  readonly additionEmbedType: string | null;
  readonly projectionClassEmbeddingsInputDim: number | null;
  readonly unetSampleSize: number | null;
  readonly timestepSpacing: string | null;
  readonly hasSecondTextEncoder: boolean;
  /** `_name_or_path` from model_index.json: a hint only (local paths appear there too). */
  readonly nameOrPath: string | null;
}

export interface FamilyDetection {
  readonly family: ModelFamily;
  /** Few-step adversarially distilled (SD-Turbo / SDXL-Turbo): 1–4 steps, no CFG. */
  readonly turbo: boolean;
  /** Why, in words, for `doctor` output and error reports. */
  readonly evidence: string;
}

export function detectFamily(s: FamilySignals): FamilyDetection {
  if (s.timeCondProjDim !== null) {
    return { family: 'lcm', turbo: false, evidence: `unet time_cond_proj_dim = ${s.timeCondProjDim} (LCM: guidance goes into timestep_cond)` };
  }
  const trailing = s.timestepSpacing === 'trailing';
  const turboName = s.nameOrPath !== null && /turbo/i.test(s.nameOrPath);

  if (s.additionEmbedType === 'text_time') {
    if (s.projectionClassEmbeddingsInputDim === 2560 || !s.hasSecondTextEncoder) {
      throw new AppError('model_invalid', 'This is an SDXL refiner-type model, which cannot generate images from text on its own', {
        hint: 'Use an SDXL base or SDXL-Turbo export (unet projection_class_embeddings_input_dim 2816, with text_encoder_2/).',
      });
    }
    // SDXL base ships "leading" spacing and 128-latent UNets; SDXL-Turbo "trailing" and 64.
    const turbo = trailing || s.unetSampleSize === 64 || turboName;
    const why = [trailing && 'scheduler timestep_spacing = trailing', s.unetSampleSize === 64 && 'unet sample_size = 64', turboName && `name "${s.nameOrPath}"`]
      .filter((x): x is string => typeof x === 'string')
      .join(', ');
    return turbo
      ? { family: 'sdxl-turbo', turbo: true, evidence: `unet addition_embed_type = text_time; turbo: ${why}` }
      : { family: 'sdxl', turbo: false, evidence: 'unet addition_embed_type = text_time; scheduler spacing is not trailing' };
  }

  if (s.crossAttentionDim === 768) {
    return { family: 'sd15', turbo: false, evidence: 'unet cross_attention_dim = 768 (CLIP ViT-L text encoder, SD 1.x)' };
  }
  if (s.crossAttentionDim === 1024) {
    // SD-Turbo and SD 2.1-base share UNet and VAE configs; only the scheduler (or a name) tells them apart.
    const turbo = trailing || turboName;
    const why = trailing ? 'scheduler timestep_spacing = trailing' : turboName ? `name "${s.nameOrPath}"` : 'scheduler spacing is not trailing';
    return { family: 'sd2', turbo, evidence: `unet cross_attention_dim = 1024 (OpenCLIP ViT-H, SD 2.x); ${turbo ? 'turbo' : 'not turbo'}: ${why}` };
  }
  throw new AppError('model_invalid', `Unsupported UNet: cross_attention_dim ${s.crossAttentionDim} is not SD 1.x (768), SD 2.x (1024) or SDXL (2048 with text_time)`, {
    hint: 'Supported families: SD 1.5, LCM (Dreamshaper v7), SD 2.x / SD-Turbo, SDXL and SDXL-Turbo.',
  });
}

export interface GenerationDefaults {
  readonly width: number;
  readonly height: number;
  readonly steps: number;
  readonly guidanceScale: number;
  /** Whether the default guidance runs classifier-free guidance (two UNet passes per step). */
  readonly classifierFreeGuidance: boolean;
}

/** §1.5. Size comes from the UNet sample_size (× 8) when the config has it, e.g. LCM's 96 → 768. */
export function defaultsFor(detection: FamilyDetection, unetSampleSize: number | null): GenerationDefaults {
  const fromConfig = unetSampleSize !== null ? unetSampleSize * 8 : null;
  const square = (fallback: number): { width: number; height: number } => ({ width: fromConfig ?? fallback, height: fromConfig ?? fallback });
  switch (detection.family) {
    case 'sd15':
      return { ...square(512), steps: 50, guidanceScale: 7.5, classifierFreeGuidance: true };
    case 'lcm':
      return { ...square(768), steps: 4, guidanceScale: 8.5, classifierFreeGuidance: false };
    case 'sd2':
      return detection.turbo
        ? { ...square(512), steps: 1, guidanceScale: 0, classifierFreeGuidance: false }
        : { ...square(512), steps: 50, guidanceScale: 7.5, classifierFreeGuidance: true };
    case 'sdxl':
      return { ...square(1024), steps: 50, guidanceScale: 5, classifierFreeGuidance: true };
    case 'sdxl-turbo':
      // Trained at 512²; the model card warns larger sizes degrade, whatever the config says.
      return { width: 512, height: 512, steps: 1, guidanceScale: 0, classifierFreeGuidance: false };
  }
}

/** Pad id of each text encoder's tokenizer when its files do not say (reference §1.5). */
export function defaultPadIds(family: ModelFamily): readonly number[] {
  switch (family) {
    case 'sd15':
    case 'lcm':
      return [49407];
    case 'sd2':
      return [0];
    case 'sdxl':
    case 'sdxl-turbo':
      return [49407, 0];
  }
}

export interface LicenceNote {
  readonly name: string;
  /** Plain answer to "may I sell what I make with it?"; the note has the conditions. */
  readonly commercialUse: 'non-commercial or licensed' | 'allowed with use restrictions' | 'check the model card';
  readonly note: string;
}

const TURBO_LICENCE: LicenceNote = {
  name: 'Stability AI Non-Commercial Research Community License (later: Stability AI Community License)',
  commercialUse: 'non-commercial or licensed',
  note:
    'SD-Turbo and SDXL-Turbo were released for non-commercial research use. The current model cards point to the ' +
    'Stability AI Community License: free for research, non-commercial use, and commercial use by individuals or ' +
    'organisations under US$1M annual revenue; above that an Enterprise licence is required. Check the licence file of your copy.',
};

/** §8. The folder cannot prove which checkpoint it holds, so these are notes to show, not verdicts. */
export function licenceFor(detection: FamilyDetection): LicenceNote {
  switch (detection.family) {
    case 'sd15':
      return {
        name: 'CreativeML OpenRAIL-M',
        commercialUse: 'allowed with use restrictions',
        note: 'Commercial use is allowed; the use-based restrictions (Attachment A) apply and must be passed on to your users.',
      };
    case 'lcm':
      return {
        name: 'MIT (repository) + CreativeML OpenRAIL-M (base model)',
        commercialUse: 'allowed with use restrictions',
        note:
          'LCM_Dreamshaper_v7 is tagged MIT, but it is distilled from Dreamshaper v7, an SD 1.5 fine-tune, so the ' +
          'CreativeML OpenRAIL-M use restrictions plausibly still apply.',
      };
    case 'sd2':
      return detection.turbo
        ? TURBO_LICENCE
        : {
            name: 'unknown',
            commercialUse: 'check the model card',
            note: 'This SD 2.x model could not be identified; read the licence on its model card before using outputs commercially.',
          };
    case 'sdxl':
      return {
        name: 'CreativeML Open RAIL++-M',
        commercialUse: 'allowed with use restrictions',
        note: 'Commercial use is allowed, with the use restrictions of the licence.',
      };
    case 'sdxl-turbo':
      return TURBO_LICENCE;
  }
}
