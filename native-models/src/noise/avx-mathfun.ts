/**
 * Float32 `log` and `sincos` exactly as PyTorch's x86-64 wheels evaluate them inside
 * `normal_fill_16_AVX2`: the Cephes-derived `log256_ps` / `sincos256_ps` of ATen
 * `native/cpu/avx_mathfun.h`, compiled by GCC with `a·b + c` contracted to FMA.
 *
 * Bit-exactness is the whole point (seeds must reproduce diffusers' latents), so every operation
 * is rounded to float32 where the vector code rounds, and fused where GCC fuses (placement from
 * reference §5.2). libm's `Math.log/sin/cos` would differ in the last bit on ~1% of samples.
 */

// Round-to-odd needs the low mantissa bit of a double; find which 32-bit half holds it.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH_WORD = 1 - LOW_WORD;

/**
 * Correctly rounded float32 fused multiply-add of float32 inputs. The product is exact in double
 * (24×24 bits); the double sum is made round-to-odd from its TwoSum error, which makes the final
 * rounding to float32 correct (53 ≥ 2·24 + 2).
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  let s = p + c;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err !== 0) {
    f64[0] = s;
    const lo = u32[LOW_WORD]!;
    if ((lo & 1) === 0) {
      if (err > 0 === s > 0) {
        u32[LOW_WORD] = lo + 1; // lo is even, so this never carries
      } else if (lo !== 0) {
        u32[LOW_WORD] = lo - 1;
      } else {
        u32[LOW_WORD] = 0xffffffff;
        u32[HIGH_WORD] = u32[HIGH_WORD]! - 1;
      }
      s = f64[0];
    }
  }
  return Math.fround(s);
}

const fr = Math.fround;

const MIN_NORM_POS = 2 ** -126;
const SQRTHF = fr(0.7071067811865476); // Cephes 0.707106781186547524 as the C compiler reads it
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(fr);
const LOG_Q1 = fr(-2.12194440e-4);
const LOG_Q2 = fr(0.693359375);

const bitsF32 = new Float32Array(1);
const bitsI32 = new Int32Array(bitsF32.buffer);

/** `log256_ps` for one lane; the input is a float32 value > 0 (randn feeds it `1 − u` ∈ (0, 1]). */
export function logPs(input: number): number {
  bitsF32[0] = Math.max(input, MIN_NORM_POS);
  const bits = bitsI32[0]!;
  let e = fr((bits >>> 23) - 127 + 1);
  bitsI32[0] = (bits & ~0x7f800000) | 0x3f000000;
  let x = bitsF32[0]!;
  const below = x < SQRTHF;
  const tmp = below ? x : 0;
  x = fr(x - 1);
  e = fr(e - (below ? 1 : 0));
  x = fr(x + tmp);
  const z = fr(x * x);
  let y = LOG_P[0]!;
  for (let k = 1; k < LOG_P.length; k++) y = fmaf(y, x, LOG_P[k]!);
  y = fr(y * x);
  y = fmaf(y, z, fr(e * LOG_Q1));
  y = fmaf(-z, 0.5, y);
  x = fr(x + y);
  return fmaf(e, LOG_Q2, x);
}

const FOPI = fr(1.27323954473516);
const DP1 = -0.78515625;
const DP2 = -2.4187564849853515625e-4;
const DP3 = fr(-3.774894977445941e-8); // Cephes −3.77489497744594108e-8, same double
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(fr);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(fr);

/** `sincos256_ps` for one lane; writes sin to `out[0]` and cos to `out[1]`. */
export function sincosPs(input: number, out: Float32Array): void {
  const negative = input < 0 || Object.is(input, -0);
  let x = Math.abs(input);
  let j = Math.trunc(fr(x * FOPI)) | 0;
  j = (j + 1) & ~1;
  const y = j;
  const swapSinSign = (j & 4) !== 0;
  const sinUsesSinPoly = (j & 2) === 0;
  x = fmaf(y, DP1, x);
  x = fmaf(y, DP2, x);
  x = fmaf(y, DP3, x);
  const cosNegative = (~(j - 2) & 4) !== 0;
  const sinNegative = negative !== swapSinSign;
  const z = fr(x * x);

  let yc = COS_P[0]!;
  yc = fmaf(yc, z, COS_P[1]!);
  yc = fmaf(yc, z, COS_P[2]!);
  yc = fr(yc * z);
  yc = fmaf(yc, z, -fr(z * 0.5));
  yc = fr(yc + 1);

  let ys = SIN_P[0]!;
  ys = fmaf(ys, z, SIN_P[1]!);
  ys = fmaf(ys, z, SIN_P[2]!);
  ys = fr(ys * z);
  ys = fmaf(ys, x, x);

  // The vector code selects with bit masks and then adds the other, zeroed, lane: `+ 0`
  // reproduces that (it turns a −0 into +0).
  const sin = (sinUsesSinPoly ? ys : yc) + 0;
  const cos = (sinUsesSinPoly ? yc : ys) + 0;
  out[0] = sinNegative ? -sin : sin;
  out[1] = cosNegative ? -cos : cos;
}
