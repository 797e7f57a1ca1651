import crypto from 'node:crypto';
import type { LocalEngine } from '../../../native-models/src/engine.js';
import { AppError } from '../../contract/errors.js';
import { formatUsd, microsToUsd } from '../../contract/money.js';
import { sqliteError, type SqliteDatabase } from '../db/sqlite.js';
import { assertTimeZone, wallClock } from '../spend/periods.js';
import { canonicalRequest, normalisePrompt, type CacheableRequest } from './canonical-request.js';
import { meanVector, normalise, VectorIndex, type ScanBackend } from './vector-index.js';

/** The installed local model's text encoder, as `LocalEngine.embedText`. */
export type EmbedText = LocalEngine['embedText'];

/**
 * The prompt embedding the semantic cache stores and searches with: the pooled output of the local
 * model's text encoder for the prompt as the exact cache normalises it (so spacing never matters).
 */
export async function embedPrompt(embedText: EmbedText, modelDir: string, prompt: string): Promise<Float32Array> {
  return normalise(await embedText(modelDir, normalisePrompt(prompt)));
}

/** `1024x1024`, or the ratio (`16:9`) for models sized that way; null when the request names neither. */
export function requestSize(request: Pick<CacheableRequest, 'width' | 'height' | 'aspectRatio'>): string | null {
  if (request.width !== undefined && request.height !== undefined) return `${request.width}x${request.height}`;
  return request.aspectRatio ?? null;
}

export interface SemanticEntryInput {
  /**
   * Names the text encoder that made `embedding` (e.g. the installed model's id and revision).
   * Embeddings under different keys are never compared, so a new encoder starts a new cache.
   */
  modelKey: string;
  embedding: Float32Array;
  /** The paid request, as the exact cache keys it. */
  request: CacheableRequest;
  imageIds: readonly string[];
  costMicros: number;
}

export interface SuggestOptions {
  modelKey: string;
  /** Only entries rendered with this provider / model / size (`requestSize`); any when absent. */
  provider?: string;
  model?: string;
  size?: string;
  /** Lowest cosine similarity offered: the `cache.semanticThreshold` setting. */
  threshold: number;
  limit: number;
  /** The user's IANA zone, for "from Tuesday". */
  timeZone: string;
}

export interface SemanticSuggestion {
  /** Pass to `accept` or `decline`. */
  id: string;
  entryId: number;
  /** Cosine similarity of the prompt embeddings, 0…1. */
  similarity: number;
  prompt: string;
  provider: string;
  model: string;
  size: string | null;
  exactKey: string;
  imageIds: string[];
  /** What the original render paid, so what using it instead of a new render saves. */
  savedMicros: number;
  savedUsd: number;
  createdAt: number;
  /** "a 0.97 match from Tuesday, $0.040 saved if you use it". */
  message: string;
}

export interface AcceptedSuggestion {
  suggestionId: string;
  entryId: number;
  imageIds: string[];
  similarity: number;
  savedMicros: number;
  /** "used a 0.97 match — saved $0.040". */
  message: string;
}

export interface SemanticCacheStats {
  /** Offers the user took. */
  hits: number;
  /** Offers the user declined. */
  misses: number;
  /** hits ÷ (hits + misses); null before the first answered offer. */
  hitRate: number | null;
  savedMicros: number;
}

export interface SemanticIndexInfo {
  entries: number;
  dimension: number;
  memoryBytes: number;
  backend: ScanBackend;
}

interface EntryRow {
  id: number;
  prompt: string;
  provider: string;
  model: string;
  size: string | null;
  exact_key: string;
  cost_micros: number;
  created_at: number;
}

interface Offer {
  outcome: { kind: 'accepted'; result: AcceptedSuggestion } | { kind: 'declined' } | null;
  members: Map<string, { entryId: number; similarity: number }>;
}

interface LoadedIndex {
  index: VectorIndex | null;
  lastId: number;
}

const KIND = 'semantic';
/** Open offers are remembered per suggestion id up to this many; older ones can no longer be answered. */
const REMEMBERED_SUGGESTIONS = 5000;
const MAX_LIMIT = 50;
/** Rows averaged for the index's centre, and the fewest worth averaging. */
const CENTRE_SAMPLE = 1024;
const MIN_CENTRE_SAMPLE = 32;

/**
 * Near matches of a prompt among the paid finals, by cosine similarity of prompt embeddings. They
 * are **offered**, never substituted: `suggest` only proposes, `accept` records that the user took
 * one (a semantic hit, counted with the dollars it saved) and `decline` that they did not (a miss).
 *
 * Vectors live in SQLite (float32, normalised); per embedding model an in-memory index
 * (vector-index.ts) is loaded by `warmIndex` or the first search, and catches up on rows written
 * since — by this process or another — at every search. Accept and decline are written at once,
 * not batched like exact-cache lookups: they are clicks, not a hot path.
 */
export class SemanticCache {
  private readonly now: () => number;
  private readonly backend: ScanBackend | undefined;
  private readonly indexes = new Map<string, LoadedIndex>();
  private readonly groups = new Map<string, number>();
  private readonly groupList: Array<{ provider: string; model: string; size: string | null }> = [];
  private readonly offers = new Map<string, Offer>();
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    options: { now?: () => number; backend?: ScanBackend } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.backend = options.backend;
    this.statements = {
      firstDimension: db.prepare('SELECT dimension FROM semantic_cache_entries WHERE embedding_model = ? ORDER BY id LIMIT 1').pluck(),
      // Answered from the (embedding_model, id) index alone: it runs before every search.
      countNew: db.prepare('SELECT COUNT(*) FROM semantic_cache_entries WHERE embedding_model = ? AND id > ?').pluck(),
      newRows: db.prepare('SELECT id, embedding, provider, model, size FROM semantic_cache_entries WHERE embedding_model = ? AND id > ? ORDER BY id LIMIT ?'),
      sample: db.prepare('SELECT embedding FROM semantic_cache_entries WHERE embedding_model = ? ORDER BY id LIMIT ?').pluck(),
      vector: db.prepare('SELECT embedding FROM semantic_cache_entries WHERE id = ?').pluck(),
      entry: db.prepare('SELECT id, prompt, provider, model, size, exact_key, cost_micros, created_at FROM semantic_cache_entries WHERE id = ?'),
      images: db.prepare('SELECT image_id FROM semantic_cache_images WHERE entry_id = ? ORDER BY position').pluck(),
      imageExists: db.prepare('SELECT 1 FROM images WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO semantic_cache_entries (embedding_model, dimension, embedding, prompt, provider, model, size, exact_key, request, cost_micros, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      link: db.prepare('INSERT INTO semantic_cache_images (entry_id, position, image_id) VALUES (?, ?, ?)'),
      markAccepted: db.prepare('UPDATE semantic_cache_entries SET accepted_count = accepted_count + 1, last_accepted_at = ? WHERE id = ?'),
      count: db.prepare(
        `INSERT INTO cache_counters (day, kind, hits, misses, saved_micros) VALUES (?, '${KIND}', ?, ?, ?)
         ON CONFLICT (day, kind) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses, saved_micros = saved_micros + excluded.saved_micros`,
      ),
    };
  }

  /** Remembers a paid final. Its images must be in the image store, which keeps them while the entry exists. */
  store(input: SemanticEntryInput): { entryId: number } {
    const modelKey = requireModelKey(input.modelKey);
    const unit = normalise(input.embedding);
    if (input.imageIds.length === 0) throw new AppError('invalid_input', 'A semantic cache entry needs at least one image.');
    if (!Number.isSafeInteger(input.costMicros) || input.costMicros < 0) throw new AppError('invalid_input', `A cached cost must be a non-negative amount, got ${input.costMicros}.`);
    const canonical = canonicalRequest(input.request);
    return this.write('store the semantic cache entry', () => {
      const dimension = this.statements.firstDimension.get(modelKey) as number | undefined;
      if (dimension !== undefined && dimension !== unit.length) throw dimensionMismatch(modelKey, dimension, unit.length);
      for (const id of input.imageIds) {
        if (!this.statements.imageExists.get(id)) {
          throw new AppError('not_found', `Image ${id} is not in the image store, so it cannot be offered as a near match.`, { hint: 'Store the image before caching it.' });
        }
      }
      const { provider, model, prompt } = input.request;
      const blob = Buffer.from(unit.buffer, unit.byteOffset, unit.byteLength); // little-endian, as every platform we ship on
      const entryId = Number(
        this.statements.insert.run(modelKey, unit.length, blob, prompt, provider, model, requestSize(input.request), canonical.key, canonical.json, input.costMicros, this.now())
          .lastInsertRowid,
      );
      input.imageIds.forEach((id, position) => this.statements.link.run(entryId, position, id));
      return { entryId };
    });
  }

  /** Near matches at or above `threshold`, best first. Nothing is counted until the user answers. */
  suggest(embedding: Float32Array, options: SuggestOptions): SemanticSuggestion[] {
    const modelKey = requireModelKey(options.modelKey);
    if (!(options.threshold > 0 && options.threshold <= 1)) throw new AppError('invalid_input', `A similarity threshold is between 0 and 1, got ${options.threshold}.`, { hint: 'Set cache.semanticThreshold to a value such as 0.92.' });
    if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > MAX_LIMIT) throw new AppError('invalid_input', `Ask for 1 to ${MAX_LIMIT} suggestions, not ${options.limit}.`);
    assertTimeZone(options.timeZone);
    const query = normalise(embedding);
    const { index } = this.load(modelKey, -1);
    if (!index) return [];
    if (index.dimension !== query.length) throw dimensionMismatch(modelKey, index.dimension, query.length);
    const matches = index.search(query, {
      minScore: options.threshold,
      limit: options.limit,
      groups: this.groupsMatching(options),
      exactVector: (id) => this.readVector(id),
    });
    const now = this.now();
    const suggestions = this.read('read the semantic cache', () =>
      matches.flatMap(({ id, score }) => {
        const row = this.statements.entry.get(id) as EntryRow | undefined;
        if (!row) return [];
        const similarity = Math.min(1, score);
        const savedUsd = microsToUsd(row.cost_micros);
        const suggestion: SemanticSuggestion = {
          id: crypto.randomUUID(),
          entryId: row.id,
          similarity,
          prompt: row.prompt,
          provider: row.provider,
          model: row.model,
          size: row.size,
          exactKey: row.exact_key,
          imageIds: this.statements.images.all(id) as string[],
          savedMicros: row.cost_micros,
          savedUsd,
          createdAt: row.created_at,
          message: `a ${similarity.toFixed(2)} match from ${whenLabel(row.created_at, now, options.timeZone)}, ${formatUsd(savedUsd)} saved if you use it`,
        };
        return [suggestion];
      }),
    );
    if (suggestions.length > 0) this.remember(suggestions);
    return suggestions;
  }

  /** The user took this suggestion: a semantic hit that saved what the original render paid. Repeating it changes nothing. */
  accept(suggestionId: string): AcceptedSuggestion {
    const offer = this.offerOf(suggestionId);
    if (offer.outcome?.kind === 'accepted' && offer.outcome.result.suggestionId === suggestionId) return offer.outcome.result;
    if (offer.outcome) throw answered(offer.outcome.kind);
    const member = offer.members.get(suggestionId);
    if (!member) throw new AppError('internal', `Suggestion ${suggestionId} is missing from its own offer.`);
    const at = this.now();
    const result = this.write('record the accepted near match', () => {
      const row = this.statements.entry.get(member.entryId) as EntryRow | undefined;
      if (!row) throw new AppError('not_found', 'That near match is no longer in the semantic cache.', { hint: 'Render the prompt fresh, or search for near matches again.' });
      this.statements.markAccepted.run(at, row.id);
      this.statements.count.run(utcDay(at), 1, 0, row.cost_micros);
      const accepted: AcceptedSuggestion = {
        suggestionId,
        entryId: row.id,
        imageIds: this.statements.images.all(row.id) as string[],
        similarity: member.similarity,
        savedMicros: row.cost_micros,
        message: `used a ${member.similarity.toFixed(2)} match — saved ${formatUsd(microsToUsd(row.cost_micros))}`,
      };
      return accepted;
    });
    offer.outcome = { kind: 'accepted', result };
    return result;
  }

  /** The user wanted a fresh render instead of the offer this suggestion belongs to: a semantic miss. */
  decline(suggestionId: string): void {
    const offer = this.offerOf(suggestionId);
    if (offer.outcome?.kind === 'declined') return;
    if (offer.outcome) throw answered(offer.outcome.kind);
    this.write('record the declined near match', () => this.statements.count.run(utcDay(this.now()), 0, 1, 0));
    offer.outcome = { kind: 'declined' };
  }

  /** Drops an entry; its images become evictable unless something else points to them. */
  forget(entryId: number): boolean {
    const removed = this.write('forget the semantic cache entry', () => this.db.prepare('DELETE FROM semantic_cache_entries WHERE id = ?').run(entryId).changes > 0);
    for (const loaded of this.indexes.values()) loaded.index?.remove(entryId);
    return removed;
  }

  /** Counters since a UTC day (`YYYY-MM-DD`, inclusive), or all time. */
  stats(options: { sinceDay?: string } = {}): SemanticCacheStats {
    const row = this.read('read the semantic cache counters', () =>
      this.db
        .prepare(`SELECT COALESCE(SUM(hits), 0) AS hits, COALESCE(SUM(misses), 0) AS misses, COALESCE(SUM(saved_micros), 0) AS saved FROM cache_counters WHERE kind = '${KIND}' AND day >= ?`)
        .get(options.sinceDay ?? '0000-00-00'),
    ) as { hits: number; misses: number; saved: number };
    const answered = row.hits + row.misses;
    return { hits: row.hits, misses: row.misses, hitRate: answered === 0 ? null : row.hits / answered, savedMicros: row.saved };
  }

  /**
   * Loads (or catches up) the index of one embedding model ahead of the first search, in chunks
   * that yield to the event loop between them: a 100k-row load takes seconds, which must not freeze
   * the app. A search meanwhile loads whatever is left at once. Null when the model has no entries.
   */
  async warmIndex(modelKey: string, options: { chunkRows?: number } = {}): Promise<SemanticIndexInfo | null> {
    const key = requireModelKey(modelKey);
    for (;;) {
      const { remaining } = this.load(key, options.chunkRows ?? 500);
      if (remaining === 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const index = this.indexes.get(key)?.index;
    return index ? { entries: index.size, dimension: index.dimension, memoryBytes: index.memoryBytes, backend: index.backend } : null;
  }

  /** Adds rows written since the last load (by any process), at most `maxRows` (−1: all). */
  private load(modelKey: string, maxRows: number): { index: VectorIndex | null; remaining: number } {
    let loaded = this.indexes.get(modelKey);
    if (!loaded) {
      loaded = { index: null, lastId: 0 };
      this.indexes.set(modelKey, loaded);
    }
    const current = loaded;
    return this.read('load the semantic cache index', () => {
      const pending = this.statements.countNew.get(modelKey, current.lastId) as number;
      if (pending === 0) return { index: current.index, remaining: 0 };
      current.index ??= this.createIndex(modelKey);
      const index = current.index;
      index.ensureCapacity(index.size + pending);
      let added = 0;
      for (const row of this.statements.newRows.iterate(modelKey, current.lastId, maxRows) as Iterable<{ id: number; embedding: Buffer; provider: string; model: string; size: string | null }>) {
        index.add(row.id, decodeVector(row.embedding), this.groupOf(row.provider, row.model, row.size));
        current.lastId = row.id;
        added += 1;
      }
      return { index, remaining: pending - added };
    });
  }

  /** The centre is the mean of the model's oldest rows; fixed for this process, recomputed at the next start. */
  private createIndex(modelKey: string): VectorIndex {
    const dimension = this.statements.firstDimension.get(modelKey) as number;
    const sample = (this.statements.sample.all(modelKey, CENTRE_SAMPLE) as Buffer[]).map(decodeVector);
    return new VectorIndex(dimension, { backend: this.backend, centre: sample.length >= MIN_CENTRE_SAMPLE ? meanVector(sample, dimension) : null });
  }

  private groupOf(provider: string, model: string, size: string | null): number {
    const key = JSON.stringify([provider, model, size]);
    let group = this.groups.get(key);
    if (group === undefined) {
      group = this.groupList.length;
      this.groups.set(key, group);
      this.groupList.push({ provider, model, size });
    }
    return group;
  }

  private groupsMatching(options: SuggestOptions): Set<number> | undefined {
    if (options.provider === undefined && options.model === undefined && options.size === undefined) return undefined;
    const matching = new Set<number>();
    this.groupList.forEach((g, group) => {
      if ((options.provider ?? g.provider) === g.provider && (options.model ?? g.model) === g.model && (options.size === undefined || options.size === g.size)) matching.add(group);
    });
    return matching;
  }

  private readVector(id: number): Float32Array | null {
    const blob = this.statements.vector.get(id) as Buffer | undefined;
    return blob ? decodeVector(blob) : null;
  }

  private remember(suggestions: SemanticSuggestion[]): void {
    const offer: Offer = { outcome: null, members: new Map(suggestions.map((s) => [s.id, { entryId: s.entryId, similarity: s.similarity }])) };
    for (const s of suggestions) this.offers.set(s.id, offer);
    for (const id of this.offers.keys()) {
      if (this.offers.size <= REMEMBERED_SUGGESTIONS) break;
      this.offers.delete(id);
    }
  }

  private offerOf(suggestionId: string): Offer {
    const offer = this.offers.get(suggestionId);
    if (!offer) {
      throw new AppError('not_found', 'That near-match offer is unknown or too old to answer.', { hint: 'Search for near matches again and answer the new offer.' });
    }
    return offer;
  }

  private read<T>(doing: string, body: () => T): T {
    try {
      return this.db.transaction(body)();
    } catch (error) {
      throw sqliteError(error, doing);
    }
  }

  private write<T>(doing: string, body: () => T): T {
    try {
      return this.db.transaction(body).immediate();
    } catch (error) {
      throw sqliteError(error, doing);
    }
  }
}

function requireModelKey(modelKey: string): string {
  const key = modelKey.trim();
  if (key === '') throw new AppError('invalid_input', 'A semantic cache entry needs the id of the embedding model.', { hint: 'Install a local model: its text encoder makes the prompt embeddings.' });
  return key;
}

function dimensionMismatch(modelKey: string, stored: number, given: number): AppError {
  return new AppError('invalid_input', `The semantic cache holds ${stored}-dimension embeddings for "${modelKey}", but this one has ${given}.`, {
    hint: 'A model key must name one text encoder: give embeddings from another model their own key.',
  });
}

function answered(kind: 'accepted' | 'declined'): AppError {
  return new AppError('invalid_input', kind === 'accepted' ? 'A match from this offer was already used.' : 'This near-match offer was already declined.', {
    hint: 'Search for near matches again to get a fresh offer.',
  });
}

/** A view on the buffer SQLite handed over (each row gets its own), or a copy where it is not 4-byte aligned. */
function decodeVector(blob: Buffer): Float32Array {
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  const vector = new Float32Array(blob.byteLength / 4);
  new Uint8Array(vector.buffer).set(blob);
  return vector;
}

function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_MS = 86_400_000;

/** "today", "yesterday", a weekday within the last week, else the date — on the user's calendar. */
export function whenLabel(at: number, now: number, timeZone: string): string {
  const then = wallClock(at, timeZone);
  const today = wallClock(now, timeZone);
  const days = Math.round((Date.UTC(today.year, today.month - 1, today.day) - Date.UTC(then.year, then.month - 1, then.day)) / DAY_MS);
  if (days <= 0) return 'today';
  if (days === 1) return 'yesterday';
  if (days < 7) return WEEKDAYS[then.weekday - 1] ?? 'this week';
  const date = `${MONTHS[then.month - 1] ?? ''} ${then.day}`;
  return then.year === today.year ? date : `${date}, ${then.year}`;
}
