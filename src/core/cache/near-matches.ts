import type { ModelEntry } from '../../contract/models.js';
import { microsToUsd } from '../../contract/money.js';
import type { FinalJob } from '../finals/job-store.js';
import { toCacheable } from '../finals/final-request.js';
import { embedPrompt, type EmbedText, type SemanticCache } from './semantic-cache.js';

export interface NearMatchDeps {
  cache: SemanticCache;
  embedText: EmbedText;
  /** The local model whose text encoder embeds prompts; null when none is installed. */
  embeddingModel: () => ModelEntry | null;
  threshold: () => number;
  timeZone: () => string;
}

/**
 * The semantic cache in the finals flow: every paid final is remembered by its prompt's embedding
 * (from the local model's CLIP text encoder), and a new prompt is offered earlier finals that mean
 * nearly the same. Offers only: using one is the user's choice.
 */
export class NearMatches {
  constructor(private readonly d: NearMatchDeps) {}

  async find(query: { prompt: string; provider?: string; model?: string; size?: string }) {
    const model = this.d.embeddingModel();
    if (!model) return { available: false, reason: 'Near matches need a local model to read prompts with: import one in Settings → Local models.', matches: [] };
    const embedding = await embedPrompt(this.d.embedText, model.path, query.prompt);
    const matches = this.d.cache.suggest(embedding, {
      modelKey: modelKey(model),
      provider: query.provider,
      model: query.model,
      size: query.size,
      threshold: this.d.threshold(),
      limit: 3,
      timeZone: this.d.timeZone(),
    });
    return {
      available: true,
      reason: null,
      matches: matches.map((m) => ({ id: m.id, similarity: m.similarity, prompt: m.prompt, provider: m.provider, model: m.model, size: m.size, imageIds: m.imageIds, savedUsd: m.savedUsd, message: m.message })),
    };
  }

  /** After a paid final succeeds: remember it so a reworded prompt can be offered it later. */
  async remember(job: FinalJob): Promise<void> {
    const model = this.d.embeddingModel();
    if (!model || !job.actual || job.imageIds.length === 0) return;
    const embedding = await embedPrompt(this.d.embedText, model.path, job.request.prompt);
    this.d.cache.store({ modelKey: modelKey(model), embedding, request: toCacheable(job.request), imageIds: job.imageIds, costMicros: Math.round(job.actual.usd * 1e6) });
  }

  /** Loads the vector index in the background so the first offer does not wait seconds for it. */
  async warm(): Promise<void> {
    const model = this.d.embeddingModel();
    if (model) await this.d.cache.warmIndex(modelKey(model));
  }

  accept(id: string) {
    const accepted = this.d.cache.accept(id);
    return { imageIds: accepted.imageIds, message: accepted.message };
  }

  decline(id: string) {
    this.d.cache.decline(id);
    return { declined: true as const };
  }

  stats() {
    const s = this.d.cache.stats();
    return { hitRate: s.hitRate, hits: s.hits, misses: s.misses, savedUsd: microsToUsd(s.savedMicros) };
  }
}

/** One key per text encoder: a re-imported or replaced model starts a fresh set of embeddings. */
function modelKey(model: ModelEntry): string {
  return `${model.id}@${model.importedAt}`;
}
