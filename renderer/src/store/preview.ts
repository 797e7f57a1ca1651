import { create } from 'zustand';
import type { GenerationParameters, PreviewResult } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from './errors.js';

export interface PreviewDraft {
  prompt: string;
  negativePrompt: string;
  /** Empty: a new random seed each render. */
  seed: string;
}

interface Progress {
  requestId: string;
  step: number;
  totalSteps: number;
  latentPreview: string | null;
}

interface TokenInfo {
  tokenCount: number;
  maxTokens: number;
  cutWords: string[];
}

interface PreviewState {
  draft: PreviewDraft;
  progress: Progress | null;
  result: PreviewResult | null;
  rendering: boolean;
  error: string | null;
  tokens: TokenInfo | null;
  setDraft(patch: Partial<PreviewDraft>, options: { live: boolean; modelId: string | null; steps: number; width: number; height: number }): void;
  render(options: { modelId: string | null; steps: number; width: number; height: number }): Promise<void>;
  cancel(): Promise<void>;
  restore(parameters: GenerationParameters): void;
}

let tokenSeq = 0;

export const usePreview = create<PreviewState>((set, get) => {
  const input = (o: { modelId: string | null; steps: number; width: number; height: number }) => {
    const { draft } = get();
    return {
      prompt: draft.prompt,
      negativePrompt: draft.negativePrompt || undefined,
      seed: draft.seed.trim() === '' ? undefined : Number(draft.seed),
      modelId: o.modelId ?? undefined,
      steps: o.steps,
      width: o.width,
      height: o.height,
    };
  };
  const countTokens = async (text: string, modelId: string | null) => {
    const seq = ++tokenSeq;
    try {
      const t = await api.call('prompt.tokenize', { text, modelId: modelId ?? undefined });
      if (seq === tokenSeq) set({ tokens: { tokenCount: t.tokenCount, maxTokens: t.maxTokens, cutWords: t.cutWords } });
    } catch {
      // No model yet: the counter simply stays hidden; the render button explains what is missing.
      if (seq === tokenSeq) set({ tokens: null });
    }
  };
  return {
    draft: { prompt: '', negativePrompt: '', seed: '' },
    progress: null,
    result: null,
    rendering: false,
    error: null,
    tokens: null,
    setDraft(patch, options) {
      set({ draft: { ...get().draft, ...patch } });
      if (patch.prompt !== undefined) void countTokens(patch.prompt, options.modelId);
      if (options.live && get().draft.prompt.trim() !== '') {
        api.call('preview.live', input(options)).catch((error: unknown) => set({ error: describeError(error) }));
      }
    },
    async render(options) {
      set({ rendering: true, error: null });
      try {
        set({ result: await api.call('preview.generate', input(options)), progress: null });
      } catch (error) {
        set({ error: describeError(error) });
      } finally {
        set({ rendering: false });
      }
    },
    async cancel() {
      const id = get().progress?.requestId;
      if (id) await api.call('preview.cancel', { requestId: id });
    },
    restore(parameters) {
      set({
        draft: { prompt: parameters.prompt, negativePrompt: parameters.negativePrompt ?? '', seed: parameters.seed === undefined ? '' : String(parameters.seed) },
      });
    },
  };
});

api.subscribe('preview.progress', (p) =>
  usePreview.setState({ progress: { requestId: p.requestId, step: p.step, totalSteps: p.totalSteps, latentPreview: p.latentPreview ?? null } }),
);
api.subscribe('preview.result', (result) => usePreview.setState({ result, progress: null, error: null }));
api.subscribe('preview.error', ({ error }) => {
  if (error.code !== 'cancelled') usePreview.setState({ error: error.hint ? `${error.message} ${error.hint}` : error.message, progress: null });
});
