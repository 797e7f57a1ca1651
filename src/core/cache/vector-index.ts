import { AppError } from '../../contract/errors.js';

/**
 * Cosine top-k over many unit vectors of one dimension, in memory, exact in its answers.
 *
 * Why not plain float32: 100k × 768 float32 rows are 307 MB, and scanning them took ~100 ms per
 * query in plain JavaScript on the 2-core bench machine and still 14–21 ms (p50; it is memory-bound)
 * with WebAssembly SIMD, against a 20 ms target. So each row is kept as int8 codes with one scale
 * (77 MB at 100k × 768), scanned with a SIMD kernel in ~5 ms, plus int8 codes of its quantisation
 * residual (another 77 MB) that are read only for the rows the first pass could not rule out.
 *
 * Why the answers are still exact: every row carries bounds on its quantisation error, so a row is
 * dropped only when even its best possible exact cosine cannot make the answer. The coarse pass
 * bounds to about ±0.013 × ‖quantised vector‖ (768-d), which on clustered embeddings can leave
 * thousands of rows near a threshold; the residual pass tightens those to ±~0.0001; the few rows
 * left are re-scored from their float32 vectors (which the caller keeps on disk, in SQLite).
 *
 * Why a centre: text-encoder embeddings tend to share a large common direction (a narrow cone),
 * so rows are quantised as x − c when that is shorter than x (c: the mean of a sample, given by the
 * caller), and x·y = (x − c)·y + c·y. The quantisation error shrinks with the quantised vector, and
 * with it the band of rows the bounds cannot decide. Any c keeps the answers exact.
 */

export interface VectorMatch {
  id: number;
  /** Exact cosine similarity, from the float32 vectors. */
  score: number;
}

export interface VectorSearchOptions {
  /** Only rows with an exact cosine at or above this are returned. */
  minScore: number;
  limit: number;
  /** Only rows added with one of these groups; all rows when absent. */
  groups?: ReadonlySet<number>;
  /** The float32 unit vector of a row, or null when it is gone (deleted by another process): the row is then dropped. */
  exactVector: (id: number) => Float32Array | null;
}

export type ScanBackend = 'wasm-simd' | 'scalar';

/** How much work the last search did beyond the full coarse scan: what the bounds saved. */
export interface SearchWork {
  /** Rows the coarse pass could not rule out, scored again with their residual codes. */
  refined: number;
  /** Rows re-scored from their float32 vector. */
  exact: number;
}

/** Codes per SIMD loop iteration: 4 accumulators × 8 lanes; rows are zero-padded to a multiple. */
const BLOCK = 32;
const PAGE = 65_536;
const ROW_CODE_LIMIT = 127;
const NUMBERS = 7;
const ROUNDING = 6_755_399_441_055_744; // 1.5 · 2^52
/** Absorbs float rounding in the bounds (‖y‖ is 1 only to float32 precision); far below any useful threshold step. */
const SLACK = 1e-6;

export class VectorIndex {
  readonly dimension: number;
  readonly backend: ScanBackend;
  private readonly stride: number;
  /** The query's int16 codes go up to this: as fine as the int32 sums allow, so its own error is negligible. */
  private readonly queryLimit: number;
  private readonly coarse: CodeRows;
  private readonly fine: CodeRows;
  private readonly residual: Float64Array;
  private readonly shifted: Float64Array;
  private capacity = 0;
  private count = 0;
  private ids = new Float64Array(0);
  private groups = new Int32Array(0);
  /**
   * Per row, of the quantised vector x (the row, or the row − centre when `centred` is 1):
   * [coarse scale, fine scale, ‖x − x̂‖, ‖x̂‖, ‖x − x̂ − r̂‖, ‖x̂ + r̂‖, centred].
   */
  private numbers = new Float64Array(0);
  /** Scratch for a search: each row's upper bound after the coarse pass. */
  private uppers = new Float64Array(0);
  private readonly centre: Float32Array | null;
  private readonly rowOf = new Map<number, number>();
  lastSearch: SearchWork = { refined: 0, exact: 0 };

  /** `centre`: a typical vector of the rows to come (e.g. the mean of a sample), or none. */
  constructor(dimension: number, options: { backend?: ScanBackend; centre?: Float32Array | null } = {}) {
    if (!Number.isInteger(dimension) || dimension <= 0) throw new AppError('invalid_input', `An embedding needs a positive whole dimension, got ${dimension}.`);
    this.dimension = dimension;
    this.stride = Math.ceil(dimension / BLOCK) * BLOCK;
    this.queryLimit = Math.min(32_767, Math.floor(0x7fff_ffff / (ROW_CODE_LIMIT * this.stride)));
    const simd = options.backend !== 'scalar' && simdModule() !== null;
    if (options.backend === 'wasm-simd' && !simd) {
      throw new AppError('internal', 'This runtime has no WebAssembly SIMD.', { hint: 'Use a Node.js or Electron build with WebAssembly SIMD (Node 16.4 or newer).' });
    }
    this.backend = simd ? 'wasm-simd' : 'scalar';
    this.coarse = new CodeRows(this.stride, dimension, simd);
    this.fine = new CodeRows(this.stride, dimension, simd);
    this.residual = new Float64Array(dimension);
    this.shifted = new Float64Array(dimension);
    if (options.centre && options.centre.length !== dimension) throw new AppError('internal', `A ${options.centre.length}-d centre for a ${dimension}-d index.`);
    this.centre = options.centre ?? null;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held: both code blocks with their scratch, and the per-row numbers. */
  get memoryBytes(): number {
    return this.coarse.bytes + this.fine.bytes + this.capacity * (8 + 4 + NUMBERS * 8 + 8);
  }

  /** Makes room for `rows` rows at once (e.g. before loading them), instead of growing step by step. */
  ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    const needed = 2 * (this.stride * 2 + rows * (this.stride + 8));
    if (needed > 4 * 1024 ** 3 - 2 * PAGE) {
      throw new AppError('invalid_input', `The semantic cache cannot hold ${rows} embeddings of ${this.dimension} dimensions in memory.`, {
        hint: 'Forget old semantic cache entries, or turn the semantic cache off.',
      });
    }
    this.coarse.reserve(rows);
    this.fine.reserve(rows);
    const grown = <T extends Float64Array | Int32Array>(old: T, next: T): T => {
      next.set(old.subarray(0, next.length));
      return next;
    };
    this.ids = grown(this.ids, new Float64Array(rows));
    this.groups = grown(this.groups, new Int32Array(rows));
    this.numbers = grown(this.numbers, new Float64Array(rows * NUMBERS));
    this.uppers = new Float64Array(rows);
    this.capacity = rows;
  }

  /** `unit` must be L2-normalised (the semantic cache stores them so); `group` is the caller's filter label. */
  add(id: number, unit: Float32Array, group: number): void {
    if (unit.length !== this.dimension) throw new AppError('invalid_input', `This index holds ${this.dimension}-d embeddings, got ${unit.length}.`);
    if (this.rowOf.has(id)) return;
    if (this.count === this.capacity) this.ensureCapacity(Math.max(1024, Math.ceil(this.capacity * 1.5)));
    const row = this.count;
    const coarse = this.coarse.row(row);
    const fine = this.fine.row(row);
    const x = this.shifted;
    let shortened = 0;
    for (let i = 0; i < this.dimension; i += 1) {
      x[i] = (unit[i] as number) - (this.centre?.[i] ?? 0);
      shortened += (x[i] as number) ** 2;
    }
    const centred = this.centre !== null && shortened < 1;
    if (!centred) x.set(unit);
    const scale = quantise(x, coarse, ROW_CODE_LIMIT);
    for (let i = 0; i < this.dimension; i += 1) this.residual[i] = (x[i] as number) - (coarse[i] as number) * scale;
    const fineScale = quantise(this.residual, fine, ROW_CODE_LIMIT);
    let error1 = 0;
    let norm1 = 0;
    let error2 = 0;
    let norm2 = 0;
    for (let i = 0; i < this.dimension; i += 1) {
      const c = (coarse[i] as number) * scale;
      const f = (fine[i] as number) * fineScale;
      const r = this.residual[i] as number;
      error1 += r * r;
      norm1 += c * c;
      error2 += (r - f) * (r - f);
      norm2 += (c + f) * (c + f);
    }
    this.numbers.set([scale, fineScale, Math.sqrt(error1), Math.sqrt(norm1), Math.sqrt(error2), Math.sqrt(norm2), centred ? 1 : 0], row * NUMBERS);
    this.ids[row] = id;
    this.groups[row] = group;
    this.rowOf.set(id, row);
    this.count += 1;
  }

  /** Moves the last row into the hole, so the rows stay one contiguous block. */
  remove(id: number): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    const last = this.count - 1;
    if (row !== last) {
      this.coarse.move(last, row);
      this.fine.move(last, row);
      const movedId = this.ids[last] as number;
      this.ids[row] = movedId;
      this.groups[row] = this.groups[last] as number;
      this.numbers.copyWithin(row * NUMBERS, last * NUMBERS, last * NUMBERS + NUMBERS);
      this.rowOf.set(movedId, row);
    }
    this.rowOf.delete(id);
    this.count = last;
    return true;
  }

  /**
   * The `limit` rows with the highest exact cosine ≥ `minScore`, best first. Survivors of both passes
   * are re-scored exactly in falling order of their upper bound, until no bound left can beat the answer.
   */
  search(query: Float32Array, options: VectorSearchOptions): VectorMatch[] {
    if (query.length !== this.dimension) throw new AppError('invalid_input', `This index holds ${this.dimension}-d embeddings, got a ${query.length}-d query.`);
    if (this.count === 0) return [];
    const codes = this.coarse.query();
    const queryScale = quantise(query, codes, this.queryLimit);
    let sum = 0;
    for (let i = 0; i < this.dimension; i += 1) sum += ((query[i] as number) - (codes[i] as number) * queryScale) ** 2;
    const queryError = Math.sqrt(sum);
    this.fine.query().set(codes);
    const centreDot = this.centre ? dot(this.centre, query) : 0;

    // Pass 1: every row, coarse codes. |x·y − x̂·ŷ| ≤ ‖x − x̂‖·‖y‖ + ‖x̂‖·‖y − ŷ‖, with ‖y‖ = 1;
    // a centred row adds c·y, exactly. A row goes on only if its upper bound reaches both the
    // threshold and the `limit`-th best lower bound: where many rows clear the threshold, only
    // those that could make the top `limit` are refined.
    const coarse = this.coarse.scoreAll(this.count);
    const n = this.numbers;
    const uppers = this.uppers;
    const bestLowers = new Array<number>(options.limit).fill(-Infinity); // ascending
    for (let row = 0; row < this.count; row += 1) {
      const at = row * NUMBERS;
      const estimate = (n[at] as number) * queryScale * (coarse[row] as number) + (n[at + 6] as number) * centreDot;
      const bound = (n[at + 2] as number) + (n[at + 3] as number) * queryError + SLACK;
      const upper = estimate + bound;
      if (upper < options.minScore || (options.groups && !options.groups.has(this.groups[row] as number))) {
        uppers[row] = -Infinity;
        continue;
      }
      uppers[row] = upper;
      if (estimate - bound > (bestLowers[0] as number)) keepLargest(bestLowers, estimate - bound);
    }
    const floor = Math.max(options.minScore, bestLowers[0] as number);
    const listed = this.fine.list(this.count);
    let candidates = 0;
    for (let row = 0; row < this.count; row += 1) {
      if ((uppers[row] as number) < floor) continue;
      listed[candidates] = row;
      candidates += 1;
    }

    // Pass 2: the survivors, coarse plus residual codes: the same bound with x̂ + r̂ for x̂.
    const fine = this.fine.scoreListed(candidates);
    const survivors: Array<{ row: number; upper: number }> = [];
    for (let i = 0; i < candidates; i += 1) {
      const row = listed[i] as number;
      const at = row * NUMBERS;
      const estimate = queryScale * ((n[at] as number) * (coarse[row] as number) + (n[at + 1] as number) * (fine[i] as number)) + (n[at + 6] as number) * centreDot;
      const upper = estimate + (n[at + 4] as number) + (n[at + 5] as number) * queryError + SLACK;
      if (upper >= floor) survivors.push({ row, upper });
    }
    survivors.sort((a, b) => b.upper - a.upper);

    // Exact re-scores, in falling order of upper bound, until no bound left can beat the answer.
    const found: VectorMatch[] = [];
    const gone: number[] = [];
    this.lastSearch = { refined: candidates, exact: 0 };
    for (const { row, upper } of survivors) {
      const full = found.length >= options.limit;
      const worstKept = found.at(-1)?.score ?? -Infinity;
      if (full && upper <= worstKept) break;
      const id = this.ids[row] as number;
      this.lastSearch.exact += 1;
      const exact = options.exactVector(id);
      if (!exact) {
        gone.push(id);
        continue;
      }
      const score = dot(exact, query);
      if (score < options.minScore || (full && score <= worstKept)) continue;
      insertSorted(found, { id, score }, options.limit);
    }
    if (gone.length === 0) return found;
    // A row deleted elsewhere may have set the pruning floor: drop such rows and search again.
    for (const id of gone) this.remove(id);
    return this.search(query, options);
  }
}

/** Puts `value` into `ascending` (a fixed-length list of the largest values seen), dropping the smallest. */
function keepLargest(ascending: number[], value: number): void {
  let at = 0;
  while (at + 1 < ascending.length && (ascending[at + 1] as number) < value) {
    ascending[at] = ascending[at + 1] as number;
    at += 1;
  }
  ascending[at] = value;
}

/** Returns `vector / ‖vector‖` as float32; throws for a zero or non-finite vector. */
export function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm) || norm === 0) {
    throw new AppError('invalid_input', 'The prompt embedding is zero or not a number, so it cannot be compared.', {
      hint: 'Check that the local model loads and embeds text (imagebench doctor).',
    });
  }
  const unit = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i += 1) unit[i] = (vector[i] as number) / norm;
  return unit;
}

/** Symmetric codes in −limit…limit with one scale (returned); the rest of `into` (padding) is zeroed. */
function quantise(values: Float32Array | Float64Array, into: Int8Array | Int16Array, limit: number): number {
  const n = values.length;
  let max = 0;
  for (let i = 0; i < n; i += 1) {
    const v = values[i] as number;
    if (v > max) max = v;
    else if (-v > max) max = -v;
  }
  const inverse = max === 0 ? 0 : limit / max;
  into.fill(0, n);
  // Round to nearest by the 1.5·2^52 trick: branch-free and ~6× faster than Math.round here (a
  // 100k-row load quantises 150M values); |v · inverse| ≤ limit, far inside its valid range.
  for (let i = 0; i < n; i += 1) into[i] = (values[i] as number) * inverse + ROUNDING - ROUNDING;
  return max / limit;
}

/** The mean of some unit vectors: a centre for `VectorIndex`. */
export function meanVector(vectors: readonly Float32Array[], dimension: number): Float32Array {
  const mean = new Float64Array(dimension);
  for (const v of vectors) for (let i = 0; i < dimension; i += 1) mean[i] = (mean[i] as number) + (v[i] ?? 0) / vectors.length;
  return Float32Array.from(mean);
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

/** Keeps `list` sorted best first and at most `limit` long; `limit` is small, so insertion beats a heap. */
function insertSorted(list: VectorMatch[], match: VectorMatch, limit: number): void {
  let at = list.length;
  while (at > 0 && (list[at - 1] as VectorMatch).score < match.score) at -= 1;
  list.splice(at, 0, match);
  if (list.length > limit) list.pop();
}

// ---- Rows of int8 codes in one linear memory, and the kernel that scores them ----------------

interface LinearMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The fallback when there is no wasm SIMD: the same layout in a plain buffer. */
class PlainMemory implements LinearMemory {
  buffer = new ArrayBuffer(0);
  grow(pages: number): number {
    const before = this.buffer.byteLength;
    const next = new ArrayBuffer(before + pages * PAGE);
    new Uint8Array(next).set(new Uint8Array(this.buffer));
    this.buffer = next;
    return before / PAGE;
  }
}

interface Kernel {
  scoreAll(query: number, rows: number, count: number, stride: number, out: number): void;
  scoreListed(query: number, rows: number, list: number, count: number, stride: number, out: number): void;
}

/**
 * Layout: [query: int16 × stride][rows: int8 × stride × capacity][scores: int32 × capacity][row list:
 * int32 × capacity]. Growing keeps the rows where they are; the scratch after them just moves.
 */
class CodeRows {
  private readonly memory: LinearMemory;
  private readonly kernel: Kernel;
  private readonly rowsAt: number;
  private capacity = 0;

  constructor(
    private readonly stride: number,
    dimension: number,
    simd: boolean,
  ) {
    this.rowsAt = Math.ceil((stride * 2) / 64) * 64;
    const wasm = simd ? instantiateKernel() : null;
    this.memory = wasm?.memory ?? new PlainMemory();
    this.kernel = wasm?.kernel ?? scalarKernel(() => this.memory.buffer, dimension);
    this.reserve(0);
  }

  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  reserve(capacity: number): void {
    const needed = this.rowsAt + capacity * (this.stride + 8);
    const pages = Math.ceil((needed - this.memory.buffer.byteLength) / PAGE);
    if (pages > 0) this.memory.grow(pages);
    this.capacity = capacity;
  }

  row(row: number): Int8Array {
    return new Int8Array(this.memory.buffer, this.rowsAt + row * this.stride, this.stride);
  }

  move(from: number, to: number): void {
    const at = this.rowsAt + from * this.stride;
    new Uint8Array(this.memory.buffer).copyWithin(this.rowsAt + to * this.stride, at, at + this.stride);
  }

  query(): Int16Array {
    return new Int16Array(this.memory.buffer, 0, this.stride);
  }

  scoreAll(count: number): Int32Array {
    this.kernel.scoreAll(0, this.rowsAt, count, this.stride, this.scoresAt());
    return new Int32Array(this.memory.buffer, this.scoresAt(), count);
  }

  /** A view to write row numbers into, for `scoreListed`. */
  list(count: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.scoresAt() + this.capacity * 4, count);
  }

  scoreListed(count: number): Int32Array {
    this.kernel.scoreListed(0, this.rowsAt, this.scoresAt() + this.capacity * 4, count, this.stride, this.scoresAt());
    return new Int32Array(this.memory.buffer, this.scoresAt(), count);
  }

  private scoresAt(): number {
    return this.rowsAt + this.capacity * this.stride;
  }
}

/** The kernel in plain JavaScript: the fallback, and the reference the SIMD one is tested against. */
function scalarKernel(buffer: () => ArrayBuffer, dimension: number): Kernel {
  const dotAt = (query: Int16Array, codes: Int8Array, at: number): number => {
    let sum = 0;
    for (let i = 0; i < dimension; i += 1) sum += (query[i] as number) * (codes[at + i] as number);
    return sum;
  };
  return {
    scoreAll(query, rows, count, stride, out) {
      const q = new Int16Array(buffer(), query, dimension);
      const codes = new Int8Array(buffer(), rows);
      const scores = new Int32Array(buffer(), out, count);
      for (let row = 0; row < count; row += 1) scores[row] = dotAt(q, codes, row * stride);
    },
    scoreListed(query, rows, list, count, stride, out) {
      const q = new Int16Array(buffer(), query, dimension);
      const codes = new Int8Array(buffer(), rows);
      const listed = new Int32Array(buffer(), list, count);
      const scores = new Int32Array(buffer(), out, count);
      for (let i = 0; i < count; i += 1) scores[i] = dotAt(q, codes, (listed[i] as number) * stride);
    },
  };
}

/** The slice of the WebAssembly API used here (Node's type set has none without the DOM lib). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => LinearMemory;
}

let compiled: { wasm: WasmApi; module: object } | null | undefined;

/** The compiled SIMD kernel, or null where this runtime has no WebAssembly SIMD. */
function simdModule(): { wasm: WasmApi; module: object } | null {
  if (compiled === undefined) {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = kernelModule();
    compiled = wasm?.validate(bytes) ? { wasm, module: new wasm.Module(bytes) } : null;
  }
  return compiled;
}

function instantiateKernel(): { memory: LinearMemory; kernel: Kernel } | null {
  const simd = simdModule();
  if (!simd) return null;
  const memory = new simd.wasm.Memory({ initial: 1 });
  const { exports } = new simd.wasm.Instance(simd.module, { env: { memory } });
  return { memory, kernel: { scoreAll: exports.scoreAll as Kernel['scoreAll'], scoreListed: exports.scoreListed as Kernel['scoreListed'] } };
}

// The kernel is assembled here, opcode by opcode, so no binary blob is committed.
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    // Done when the rest is the sign extension of this byte's bit 6.
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const text = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  get: (local: number) => [0x20, local],
  set: (local: number) => [0x21, local],
  tee: (local: number) => [0x22, local],
  const: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  ltU: [0x49],
  eqz: [0x45],
  load: [0x28, 2, 0],
  store: [0x36, 2, 0],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, depth],
  end: [0x0b],
};
const simd = (code: number, ...immediates: number[]) => [0xfd, ...uleb(code), ...immediates];
const v128Load = (offset: number) => simd(0x00, 4, ...uleb(offset));
const load8x8s = (offset: number) => simd(0x01, 3, ...uleb(offset)); // 8 × int8 → i16x8
const v128Zero = simd(0x0c, ...new Array<number>(16).fill(0));
const i32x4Add = simd(0xae);
const i32x4DotI16x8 = simd(0xba);
const i32x4Lane = (lane: number) => simd(0x1b, lane);

/**
 * Σ query[i]·codes[at + i] over one row, left on the stack as an i32; advances `at` by one row.
 * Products are ≤ 127 × queryLimit, and queryLimit is chosen so a row's sum fits an i32.
 */
function rowDot(l: { query: number; stride: number; at: number; q: number; qEnd: number; acc: readonly [number, number, number, number] }): number[] {
  const [a0, a1, a2, a3] = l.acc;
  return [
    ...l.acc.flatMap((a) => [...v128Zero, ...op.set(a)]),
    ...op.get(l.query), ...op.set(l.q),
    ...op.get(l.query), ...op.get(l.stride), ...op.const(1), ...op.shl, ...op.add, ...op.set(l.qEnd),
    ...op.loop, // 32 codes per turn
    ...l.acc.flatMap((a, k) => [...op.get(a), ...op.get(l.at), ...load8x8s(8 * k), ...op.get(l.q), ...v128Load(16 * k), ...i32x4DotI16x8, ...i32x4Add, ...op.set(a)]),
    ...op.get(l.at), ...op.const(BLOCK), ...op.add, ...op.set(l.at),
    ...op.get(l.q), ...op.const(2 * BLOCK), ...op.add, ...op.tee(l.q),
    ...op.get(l.qEnd), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(a0), ...op.get(a1), ...i32x4Add, ...op.get(a2), ...op.get(a3), ...i32x4Add, ...i32x4Add, ...op.tee(a0),
    ...i32x4Lane(0), ...op.get(a0), ...i32x4Lane(1), ...op.add, ...op.get(a0), ...i32x4Lane(2), ...op.add, ...op.get(a0), ...i32x4Lane(3), ...op.add,
  ];
}

/** `for (i = 0; i < count; i++) body` around a row loop, with `count` = 0 allowed. */
const countedLoop = (i: number, count: number, body: number[]): number[] => [
  ...op.const(0), ...op.set(i),
  ...op.block,
  ...op.get(count), ...op.eqz, ...op.brIf(0),
  ...op.loop,
  ...body,
  ...op.get(i), ...op.const(1), ...op.add, ...op.tee(i),
  ...op.get(count), ...op.ltU, ...op.brIf(0),
  ...op.end,
  ...op.end,
];

/** out[i] ← 32-bit store at out + 4i of the value the body leaves. */
const storeAt = (out: number, i: number, value: number[]): number[] => [...op.get(out), ...op.get(i), ...op.const(2), ...op.shl, ...op.add, ...value, ...op.store];

/**
 * `scoreAll(query, rows, count, stride, out)`: out[r] = row r · query, for rows 0…count−1.
 * `scoreListed(query, rows, list, count, stride, out)`: out[i] = row list[i] · query.
 * The query is int16 codes, a row `stride` int8 codes, `stride` a multiple of 32.
 */
function kernelModule(): Uint8Array {
  const all = (() => {
    const [query, rows, count, stride, out, at, q, qEnd, i] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const dotRow = rowDot({ query, stride, at, q, qEnd, acc: [9, 10, 11, 12] });
    return [...vec([[4, I32], [4, V128]]), ...op.get(rows), ...op.set(at), ...countedLoop(i, count, storeAt(out, i, dotRow)), ...op.end];
  })();
  const listed = (() => {
    const [query, rows, list, count, stride, out, at, q, qEnd, i] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const dotRow = rowDot({ query, stride, at, q, qEnd, acc: [10, 11, 12, 13] });
    const seek = [...op.get(rows), ...op.get(list), ...op.get(i), ...op.const(2), ...op.shl, ...op.add, ...op.load, ...op.get(stride), ...op.mul, ...op.add, ...op.set(at)];
    return [...vec([[4, I32], [4, V128]]), ...countedLoop(i, count, [...seek, ...storeAt(out, i, dotRow)]), ...op.end];
  })();
  const params = (n: number) => [0x60, ...vec(new Array<number[]>(n).fill([I32])), 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([params(5), params(6)])),
    ...section(2, vec([[...text('env'), ...text('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...text('scoreAll'), 0x00, 0], [...text('scoreListed'), 0x00, 1]])),
    ...section(10, vec([all, listed].map((body) => [...uleb(body.length), ...body]))),
  ]);
}
