/**
 * Reproducible noise: a bit-exact port of PyTorch's CPU `torch.randn` for float32, i.e. what
 *
 *     torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed), dtype=torch.float32)
 *
 * returns on an official x86-64 wheel. This is the documented PRNG behind ImageBench seeds: the
 * same seed gives the same starting latents here as in diffusers with a CPU generator.
 *
 * The algorithm (ATen `CPUGeneratorImpl.cpp`, `DistributionTemplates.h`, `DistributionKernels.cpp`):
 *
 * - Engine: MT19937 seeded with `seed mod 2³²` (a negative seed counts as its 64-bit two's
 *   complement, so it too is reduced mod 2³²).
 * - Uniform float32: `(next32() & 0xFFFFFF) · 2⁻²⁴`. Uniform double: `(random64 & (2⁵³−1)) · 2⁻⁵³`
 *   with `random64 = next32() << 32 | next32()`.
 * - Tensors of ≥ 16 elements: draw ALL uniforms first, in memory order; then per block of 16,
 *   Box–Muller on lanes j and j+8 (`u1 = 1 − d[j]`, `u2 = d[j+8]`, `r = √(−2·log u1)`,
 *   `θ = 2π·u2`, `d[j] = r·cos θ`, `d[j+8] = r·sin θ`) in float32 with the AVX2 Cephes functions
 *   (`avx-mathfun.ts`). If the length is not a multiple of 16, 16 FRESH uniforms overwrite the
 *   last 16 slots and that block is transformed again.
 * - Fewer than 16 elements: per element a double Box–Muller (`r = √(−2·log1p(−u2))`,
 *   `θ = 2π·u1`) returning `r·cos θ` and caching `r·sin θ` in the generator for the next element,
 *   even across calls, until the generator is re-seeded.
 *
 * Not reproduced: float16 noise (fp16 pipelines), numpy's `RandomState`, CUDA generators, and torch
 * builds without AVX2 (those use libm and differ in the last bits).
 */
import { sincosPs, logPs } from './avx-mathfun.js';
import { Mt19937 } from './mt19937.js';

/** Below this many elements torch takes the scalar double path. */
const VECTOR_PATH_MIN = 16;
const TWO_PI_F32 = Math.fround(2 * Math.PI);
const TWO_POW_32 = 2 ** 32;
const TWO_POW_MINUS_24 = 2 ** -24;
const TWO_POW_MINUS_53 = 2 ** -53;
const MIN_SEED = -(2n ** 63n);
const MAX_SEED = 2n ** 64n - 1n;

/** A seeded stream of float32 standard normals that continues across calls, like a torch generator. */
export class TorchGenerator {
  private engine: Mt19937;
  private cachedNormal: number | undefined;
  private readonly sincos = new Float32Array(2);

  constructor(seed: number | bigint) {
    this.engine = new Mt19937(reduceSeed(seed));
  }

  /** Restart the stream, as `generator.manual_seed(seed)` does (also drops the cached normal). */
  manualSeed(seed: number | bigint): void {
    this.engine = new Mt19937(reduceSeed(seed));
    this.cachedNormal = undefined;
  }

  /** The next `numel(shape)` standard normals, in row-major order. Only the element count matters. */
  randn(shape: readonly number[]): Float32Array {
    const n = elementCount(shape);
    return n >= VECTOR_PATH_MIN ? this.vectorNormals(n) : this.scalarNormals(n);
  }

  private uniformFloat(): number {
    return (this.engine.nextUint32() & 0xffffff) * TWO_POW_MINUS_24;
  }

  private uniformDouble(): number {
    const hi = this.engine.nextUint32() & 0x1fffff;
    const lo = this.engine.nextUint32();
    return (hi * TWO_POW_32 + lo) * TWO_POW_MINUS_53;
  }

  private vectorNormals(n: number): Float32Array {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= n; i += 16) this.boxMuller16(d, i);
    if (n % 16 !== 0) {
      const tail = n - 16;
      for (let j = 0; j < 16; j++) d[tail + j] = this.uniformFloat();
      this.boxMuller16(d, tail);
    }
    return d;
  }

  private boxMuller16(d: Float32Array, offset: number): void {
    const sincos = this.sincos;
    for (let j = 0; j < 8; j++) {
      const u1 = Math.fround(1 - d[offset + j]!);
      const u2 = d[offset + j + 8]!;
      const radius = Math.fround(Math.sqrt(Math.fround(-2 * logPs(u1))));
      sincosPs(Math.fround(TWO_PI_F32 * u2), sincos);
      // `+ 0` is the kernel's final fmadd(n, std = 1, mean = +0), which turns −0 into +0.
      d[offset + j] = Math.fround(radius * sincos[1]!) + 0;
      d[offset + j + 8] = Math.fround(radius * sincos[0]!) + 0;
    }
  }

  private scalarNormals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normalDouble();
    return out;
  }

  private normalDouble(): number {
    if (this.cachedNormal !== undefined) {
      const cached = this.cachedNormal;
      this.cachedNormal = undefined;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** `torch.randn(shape, generator=torch.Generator('cpu').manual_seed(seed))` in float32. */
export function randn(shape: readonly number[], seed: number | bigint): Float32Array {
  return new TorchGenerator(seed).randn(shape);
}

function reduceSeed(seed: number | bigint): number {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
    throw new RangeError(`Seed ${seed} is not a whole number within ±2^53; pass a bigint for larger seeds.`);
  }
  const big = BigInt(seed);
  if (big < MIN_SEED || big > MAX_SEED) {
    throw new RangeError(`Seed ${big} is outside PyTorch's accepted range [-2^63, 2^64 - 1].`);
  }
  return Number(BigInt.asUintN(32, big));
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new RangeError(`Noise shape [${shape.join(', ')}] has a dimension that is not a non-negative integer.`);
    }
    n *= dim;
  }
  return n;
}
