import { create } from 'zustand';
import type { EstimateResult, FinalJobView, FinalModel } from '../../../src/contract/index.js';
import type { z } from 'zod';
import type { NearMatchesSchema } from '../../../src/contract/finals.js';

type NearMatches = z.infer<typeof NearMatchesSchema>;
import { api } from '../bridge.js';
import { describeError } from './errors.js';

export interface FinalDraft {
  prompt: string;
  /** The preview being escalated: its seed is carried over and it is shown beside the final. */
  fromImageId: string | null;
  seed: number | null;
  /** Width ÷ height of the preview being escalated, so the final keeps its shape. */
  fromAspect: number | null;
  /** Start the final from the preview's pixels (image-to-image), where the model can. */
  img2img: boolean;
  provider: string;
  model: string;
  size: string;
  n: number;
  quality: string;
}

interface FinalsState {
  models: FinalModel[];
  draft: FinalDraft;
  estimate: EstimateResult | null;
  estimateError: string | null;
  jobs: FinalJobView[];
  nearMatches: NearMatches | null;
  /** A near match the user chose: its images, and what it saved. */
  usedMatch: { imageIds: string[]; message: string } | null;
  takeMatch(id: string): Promise<void>;
  declineMatches(): Promise<void>;
  submitting: boolean;
  submitError: string | null;
  loadModels(): Promise<void>;
  loadJobs(): Promise<void>;
  setDraft(patch: Partial<FinalDraft>): void;
  /** The preview each job was escalated from, for the side-by-side compare. */
  previewFor: Record<string, string>;
  submit(confirm: { aboveUsd?: number; unknownMaxUsd?: number }): Promise<void>;
  cancel(id: string): Promise<void>;
}

let estimateSeq = 0;
let nearSeq = 0;
let nearTimer: ReturnType<typeof setTimeout> | null = null;

/** Near matches cost an embedding each: asked for once typing pauses, newest answer wins. */
function scheduleNearMatches(): void {
  if (nearTimer) clearTimeout(nearTimer);
  nearTimer = setTimeout(() => {
    const { draft } = useFinals.getState();
    if (draft.prompt.trim() === '') return useFinals.setState({ nearMatches: null });
    const seq = ++nearSeq;
    api
      .call('finals.nearMatches', { prompt: draft.prompt, provider: (draft.provider || undefined) as FinalModel['provider'] | undefined, model: draft.model || undefined })
      .then((nearMatches) => seq === nearSeq && useFinals.setState({ nearMatches, usedMatch: null }))
      .catch(() => seq === nearSeq && useFinals.setState({ nearMatches: null }));
  }, 400);
}

export const useFinals = create<FinalsState>((set, get) => {
  /** Re-price on every change; only the newest answer is kept, so fast typing never shows a stale price. */
  const reestimate = async () => {
    const { draft, models } = get();
    const model = models.find((m) => m.provider === draft.provider && m.model === draft.model);
    if (!model) return set({ estimate: null });
    const seq = ++estimateSeq;
    const [w, h] = draft.size.split(/[x:]/).map(Number);
    const shape = draft.size.includes(':') ? { aspectRatio: draft.size } : { width: w, height: h };
    try {
      const estimate = await api.call('finals.estimate', {
        provider: model.provider,
        model: model.model,
        prompt: draft.prompt,
        n: draft.n,
        quality: draft.quality || undefined,
        img2img: draft.img2img && draft.fromImageId !== null,
        ...shape,
      });
      if (seq === estimateSeq) set({ estimate, estimateError: null });
    } catch (error) {
      if (seq === estimateSeq) set({ estimate: null, estimateError: describeError(error) });
    }
  };
  return {
    models: [],
    draft: { prompt: '', fromImageId: null, seed: null, fromAspect: null, img2img: false, provider: '', model: '', size: '1024x1024', n: 1, quality: '' },
    estimate: null,
    estimateError: null,
    jobs: [],
    nearMatches: null,
    usedMatch: null,
    async takeMatch(id) {
      try {
        set({ usedMatch: await api.call('finals.useNearMatch', { id }), nearMatches: null });
      } catch (error) {
        set({ submitError: describeError(error) });
      }
    },
    async declineMatches() {
      const first = get().nearMatches?.matches[0];
      set({ nearMatches: null });
      if (first) await api.call('finals.declineNearMatch', { id: first.id }).catch(() => undefined);
    },
    submitting: false,
    submitError: null,
    async loadJobs() {
      set({ jobs: await api.call('finals.list', { limit: 50 }) });
    },
    previewFor: {},
    async submit(confirm) {
      const { draft } = get();
      const [w, h] = draft.size.split(/[x:]/).map(Number);
      set({ submitting: true, submitError: null });
      try {
        const job = await api.call('finals.submit', {
          provider: draft.provider as FinalModel['provider'],
          model: draft.model,
          prompt: draft.prompt,
          n: draft.n,
          quality: draft.quality || undefined,
          seed: draft.seed ?? undefined,
          initImageId: draft.img2img && draft.fromImageId ? draft.fromImageId : undefined,
          ...(draft.size.includes(':') ? { aspectRatio: draft.size } : { width: w, height: h }),
          confirmedAboveUsd: confirm.aboveUsd,
          confirmUnknownPriceMaxUsd: confirm.unknownMaxUsd,
        });
        if (draft.fromImageId) set({ previewFor: { ...get().previewFor, [job.id]: draft.fromImageId } });
        upsert(job);
      } catch (error) {
        set({ submitError: describeError(error) });
      } finally {
        set({ submitting: false });
      }
    },
    async cancel(id) {
      upsert(await api.call('finals.cancel', { id }));
    },
    async loadModels() {
      const models = (await api.call('finals.models', {})).filter((m) => m.status !== 'retired');
      set({ models });
      if (!get().draft.model && models[0]) get().setDraft(defaultsFor(models[0], get().draft.fromAspect));
      else void reestimate();
    },
    setDraft(patch) {
      const next = { ...get().draft, ...patch };
      if (patch.fromAspect !== undefined && patch.size === undefined) {
        // A new preview to escalate: keep its shape in the current model's sizes.
        const model = get().models.find((m) => m.provider === next.provider && m.model === next.model);
        if (model) next.size = closestShape(model.sizes ?? model.aspectRatios ?? [], patch.fromAspect) ?? next.size;
      }
      set({ draft: next });
      void reestimate();
      if (patch.prompt !== undefined || patch.model !== undefined) scheduleNearMatches();
    },
  };
});

function upsert(job: FinalJobView): void {
  const jobs = useFinals.getState().jobs.filter((j) => j.id !== job.id);
  useFinals.setState({ jobs: [job, ...jobs].sort((a, b) => b.createdAt.localeCompare(a.createdAt)) });
}

api.subscribe('finals.job', upsert);

/** Picking a model resets size and quality to ones that model accepts, keeping the preview's shape where it can. */
export function defaultsFor(model: FinalModel, aspect: number | null = null): Partial<FinalDraft> {
  const shapes = model.sizes ?? model.aspectRatios ?? [];
  return {
    provider: model.provider,
    model: model.model,
    size: closestShape(shapes, aspect) ?? '1024x1024',
    quality: model.qualities?.[0] ?? '',
    img2img: useFinals.getState().draft.img2img && model.img2img,
    n: 1,
  };
}

/** The size ("1024x1536") or ratio ("2:3") nearest to width ÷ height; the first one without a target. */
export function closestShape(shapes: readonly string[], aspect: number | null): string | undefined {
  if (aspect === null) return shapes[0];
  const ratioOf = (shape: string) => {
    const [a, b] = shape.split(/[x:]/).map(Number);
    return a && b ? a / b : Number.NaN;
  };
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const shape of shapes) {
    const distance = Math.abs(Math.log(ratioOf(shape) / aspect));
    if (distance < bestDistance) [best, bestDistance] = [shape, distance];
  }
  return best ?? shapes[0];
}
