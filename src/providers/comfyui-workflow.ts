import { randomInt } from 'node:crypto';
import { snapDimensions } from './geometry.js';
import type { GenerateRequest } from './types.js';

/**
 * The default ComfyUI graph in API format: checkpoint → prompts → KSampler → decode → SaveImage,
 * with LoadImage + VAEEncode in front for image-to-image. A caller with its own graph passes it as
 * `providerOptions.workflow` and it is sent unchanged.
 */

export type ComfyGraph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export interface SamplerSettings {
  steps: number;
  cfg: number;
  sampler_name: string;
  scheduler: string;
}

const DEFAULT_SAMPLER: SamplerSettings = { steps: 20, cfg: 7, sampler_name: 'euler', scheduler: 'normal' };

function samplerSettings(options: Record<string, unknown>): SamplerSettings {
  const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  const str = (v: unknown, fallback: string): string => (typeof v === 'string' && v ? v : fallback);
  return {
    steps: num(options.steps, DEFAULT_SAMPLER.steps),
    cfg: num(options.cfg, DEFAULT_SAMPLER.cfg),
    sampler_name: str(options.sampler_name, DEFAULT_SAMPLER.sampler_name),
    scheduler: str(options.scheduler, DEFAULT_SAMPLER.scheduler),
  };
}

/** ComfyUI needs a seed; when the user gave none one is drawn here, so it can be reported with the image. */
export function seedFor(req: GenerateRequest): number {
  return req.seed ?? randomInt(0, 2 ** 32);
}

export function buildGraph(req: GenerateRequest, seed: number, uploadedImage?: string): ComfyGraph {
  const sampler = samplerSettings(req.providerOptions ?? {});
  const graph: ComfyGraph = {
    checkpoint: { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: req.model } },
    positive: { class_type: 'CLIPTextEncode', inputs: { text: req.prompt, clip: ['checkpoint', 1] } },
    negative: { class_type: 'CLIPTextEncode', inputs: { text: req.negativePrompt ?? '', clip: ['checkpoint', 1] } },
    sampler: {
      class_type: 'KSampler',
      inputs: {
        seed,
        ...sampler,
        denoise: 1,
        model: ['checkpoint', 0],
        positive: ['positive', 0],
        negative: ['negative', 0],
        latent_image: ['latent', 0],
      },
    },
    decode: { class_type: 'VAEDecode', inputs: { samples: ['sampler', 0], vae: ['checkpoint', 2] } },
    save: { class_type: 'SaveImage', inputs: { filename_prefix: 'ImageBench', images: ['decode', 0] } },
  };
  if (uploadedImage !== undefined) {
    graph.load = { class_type: 'LoadImage', inputs: { image: uploadedImage } };
    graph.encode = { class_type: 'VAEEncode', inputs: { pixels: ['load', 0], vae: ['checkpoint', 2] } };
    graph.latent = { class_type: 'RepeatLatentBatch', inputs: { samples: ['encode', 0], amount: req.n } };
    const samplerNode = graph.sampler;
    if (samplerNode) samplerNode.inputs.denoise = req.initImage?.strength ?? 0.6;
  } else {
    graph.latent = { class_type: 'EmptyLatentImage', inputs: { ...snapDimensions(req, { step: 8, min: 64, max: 4096 }), batch_size: req.n } };
  }
  return graph;
}
