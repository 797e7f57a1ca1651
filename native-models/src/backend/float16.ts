/**
 * IEEE 754 half precision <-> float32, as raw bits in a Uint16Array: that is how onnxruntime
 * takes and gives float16 tensors (fp16 exports have fp16 inputs and outputs everywhere, reference
 * §2.3). No ORT import here, so code that only post-processes outputs can use it.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** One float32 value to half bits, rounding to nearest even; overflow gives ±Infinity, NaN stays NaN. */
export function float32ToFloat16(value: number): number {
  f32Scratch[0] = value; // JS numbers are float64: round to float32 first, as a Float32Array source would be
  const x = u32Scratch[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;

  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;

  if (halfExponent <= 0) {
    // Subnormal half: value = m * 2^-24. Anything below half the smallest subnormal rounds to zero.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(full, shift); // may carry into 0x400, the smallest normal - still correct
  }
  // Carry out of the mantissa bumps the exponent, and out of the top exponent gives 0x7c00 (Infinity).
  return sign | (((halfExponent << 10) | (mantissa >>> 13)) + roundIncrement(mantissa, 13, mantissa >>> 13));
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  return kept + roundIncrement(value, shift, kept);
}

function roundIncrement(value: number, shift: number, kept: number): number {
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0;
}

/** Half bits to the float value they encode (exact: every half is a float32). */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function float32ToFloat16Bits(values: Float32Array | readonly number[]): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16(values[i] ?? 0);
  return out;
}

let decodeTable: Float32Array | null = null;

export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  // Decoding whole images and latents is hot; a 256 KiB table beats per-element math.
  if (decodeTable === null) {
    decodeTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) decodeTable[h] = float16ToFloat32(h);
  }
  const table = decodeTable;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i] ?? 0] ?? 0;
  return out;
}
