/**
 * One denoising model call per step, fed from the session's own signature (reference §2.1, §2.3):
 * the timestep as a float scalar, float [B] or int64 [B]; SDXL's `text_embeds` + `time_ids`; LCM's
 * `timestep_cond`; classifier-free guidance as one batch of 2B (or several runs when the export
 * fixes the batch) combined as `ε_u + g·(ε_c − ε_u)`. The text conditioning is cast and split once
 * per run, not once per step.
 */
import { AppError } from '../../../src/contract/errors.js';
import type { ModelSession } from '../backend/ort.js';
import { guidanceScaleEmbedding } from '../schedulers/index.js';
import { BatchedSession, type FeedValue } from './batched-session.js';
import type { RunPlan } from './run-plan.js';
import type { EncodedPrompt } from './text-conditioning.js';

const KNOWN_INPUTS = new Set(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids', 'timestep_cond']);

export interface UnetConditioning {
  readonly positive: EncodedPrompt;
  /** CFG only: the negative prompt's encoding (or zeros, for SDXL's force_zeros_for_empty_prompt). */
  readonly negative: EncodedPrompt | null;
  /** From unet/config.json, for LCM exports whose timestep_cond width is symbolic. */
  readonly timeCondProjDim: number | null;
}

export class UnetRunner {
  private readonly runner: BatchedSession;
  private readonly outputName: string;
  private readonly timestepRank: number;
  private readonly integerTimestep: boolean;
  /** Rows the model sees per step: B, or 2B with guidance. */
  private readonly rows: number;

  constructor(
    session: ModelSession,
    private readonly plan: RunPlan,
    conditioning: UnetConditioning,
  ) {
    checkSignature(session, plan);
    this.rows = plan.classifierFreeGuidance ? 2 * plan.batch : plan.batch;
    const timestep = session.inputs.find((i) => i.name === 'timestep')!;
    this.timestepRank = timestep.shape.length;
    this.integerTimestep = timestep.dtype === 'int64' || timestep.dtype === 'int32';
    this.outputName = session.outputs.some((o) => o.name === 'out_sample') ? 'out_sample' : session.outputs[0]!.name;
    this.runner = new BatchedSession(session, 'unet', this.rows, this.constants(session, conditioning));
  }

  /** ε for the plan's batch at timestep `t`, guidance applied. `sample` is the scaled model input [B,4,h,w]. */
  async predictNoise(sample: Float32Array, t: number): Promise<Float32Array> {
    if (this.integerTimestep && !Number.isInteger(t)) {
      throw new AppError('invalid_input', `This UNet takes integer timesteps, but the ${this.plan.schedulerName} schedule has t = ${t}`, {
        hint: 'Fractional timesteps come from "linspace" spacing (SD 1.5 with Euler); choose a step count or scheduler with whole timesteps, or re-export the model.',
      });
    }
    const latentDims = [this.plan.batch, 4, this.plan.height / 8, this.plan.width / 8];
    let input = sample;
    if (this.plan.classifierFreeGuidance) {
      input = new Float32Array(2 * sample.length);
      input.set(sample, 0);
      input.set(sample, sample.length);
    }
    const feeds: Record<string, FeedValue> = {
      sample: { values: input, dims: [this.rows, ...latentDims.slice(1)] },
      timestep: this.timestepRank === 0 ? { values: [t], dims: [] } : { values: new Array<number>(this.rows).fill(t), dims: [this.rows] },
    };
    const eps = (await this.runner.run(feeds, [this.outputName]))[this.outputName]!.data;
    if (!this.plan.classifierFreeGuidance) return eps;
    const n = sample.length;
    const g = this.plan.guidanceScale;
    const guided = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const uncond = eps[i]!;
      guided[i] = uncond + g * (eps[n + i]! - uncond);
    }
    return guided;
  }

  private constants(session: ModelSession, c: UnetConditioning): Record<string, FeedValue> {
    const { plan } = this;
    const prompts = plan.classifierFreeGuidance ? [...repeat(c.negative!, plan.batch), ...repeat(c.positive, plan.batch)] : repeat(c.positive, plan.batch);
    const seq = c.positive.hiddenStates.length / c.positive.width;
    const out: Record<string, FeedValue> = {
      encoder_hidden_states: { values: concat(prompts.map((p) => p.hiddenStates)), dims: [this.rows, seq, c.positive.width] },
    };
    if (plan.sdxl) {
      const pooled = prompts.map((p) => p.pooled ?? new Float32Array(0));
      out['text_embeds'] = { values: concat(pooled), dims: [this.rows, pooled[0]!.length] };
      out['time_ids'] = { values: concat(Array.from({ length: this.rows }, () => Float32Array.from(timeIds(plan)))), dims: [this.rows, 6] };
    }
    if (session.inputs.some((i) => i.name === 'timestep_cond')) {
      const declared = session.inputs.find((i) => i.name === 'timestep_cond')!.shape[1];
      const dim = typeof declared === 'number' && declared > 0 ? declared : (c.timeCondProjDim ?? 256);
      const w = guidanceScaleEmbedding(plan.guidanceScale - 1, dim);
      out['timestep_cond'] = { values: concat(Array.from({ length: this.rows }, () => w)), dims: [this.rows, dim] };
    }
    return out;
  }
}

/** `[orig_h, orig_w, crop_top, crop_left, target_h, target_w]`, default `[H, W, 0, 0, H, W]` (reference §3.2). */
function timeIds(plan: RunPlan): number[] {
  const sc = plan.request.sdxlConditioning;
  const original = sc?.originalSize ?? { width: plan.width, height: plan.height };
  const crop = sc?.cropTopLeft ?? { top: 0, left: 0 };
  const target = sc?.targetSize ?? { width: plan.width, height: plan.height };
  return [original.height, original.width, crop.top, crop.left, target.height, target.width];
}

function checkSignature(session: ModelSession, plan: RunPlan): void {
  const names = new Set(session.inputs.map((i) => i.name));
  const unknown = [...names].filter((n) => !KNOWN_INPUTS.has(n));
  const required = ['sample', 'timestep', 'encoder_hidden_states', ...(plan.sdxl ? ['text_embeds', 'time_ids'] : []), ...(plan.schedulerName === 'lcm' ? ['timestep_cond'] : [])];
  const missing = required.filter((n) => !names.has(n));
  const surplus = plan.sdxl ? [] : ['text_embeds', 'time_ids'].filter((n) => names.has(n));
  if (unknown.length + missing.length + surplus.length > 0) {
    const parts = [
      missing.length > 0 && `lacks ${missing.join(', ')}`,
      unknown.length > 0 && `has inputs ImageBench does not know (${unknown.join(', ')})`,
      surplus.length > 0 && `has SDXL inputs (${surplus.join(', ')}) but unet/config.json is not SDXL`,
    ].filter((p): p is string => typeof p === 'string');
    throw new AppError('model_invalid', `unet/model.onnx ${parts.join('; ')}`, {
      hint:
        missing.includes('timestep_cond')
          ? 'LCM UNets need timestep_cond, which only Optimum exports have (the legacy diffusers script cannot export LCM).'
          : 'The UNet does not match the folder’s configs; export the model folder again with Optimum.',
    });
  }
  if (session.outputs.length === 0) throw new AppError('model_invalid', 'unet/model.onnx has no outputs', { hint: 'Export the model folder again.' });
}

function repeat<T>(value: T, times: number): T[] {
  return Array.from({ length: times }, () => value);
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
