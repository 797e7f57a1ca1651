import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fmaf } from '../../../native-models/src/noise/avx-mathfun.js';
import { Mt19937 } from '../../../native-models/src/noise/mt19937.js';
import { TorchGenerator, randn } from '../../../native-models/src/noise/torch-randn.js';

// Reference §5.4 (values computed from the ATen sources; the published 4-decimal torch outputs agree).
const TABLE = [
  {
    seed: 0,
    n: 16,
    first8: [
      -1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0.8487103581428528,
      0.6920091509819031, -0.31601276993751526, -2.1152193546295166,
    ],
    last4: [0.11984150856733322, 1.237657904624939, 1.1167771816253662, -0.2472781538963318],
    sha256: '7648137a31024642604465428f1598d06f595259ac993612918498d7cde9b70c',
  },
  {
    seed: 0,
    n: 4 * 64 * 64,
    last4: [-1.0407140254974365, 0.09078387916088104, -1.3664697408676147, -1.0782079696655273],
    sha256: '24efac55b39e95b2d74d8fb5b3a8e8a8e808bd04129f260c4cdbb225bb952a4d',
    sum: -124.11269989912398,
  },
  {
    seed: 42,
    n: 16,
    first8: [
      1.9269152879714966, 1.4872840642929077, 0.9007171988487244, -2.1055209636688232, 0.6784184575080872,
      -1.2345448732376099, -0.04306747764348984, -1.6046669483184814,
    ],
    last4: [-0.7278813123703003, -0.5594301819801331, -0.7688388824462891, 0.7624453902244568],
    sha256: 'fc34b516db1204ac5504e9a714274f1068e6342fdddd0b2cde67221932271d34',
  },
  {
    seed: 42,
    n: 4 * 64 * 64,
    last4: [-0.8111438155174255, -0.6357504725456238, 0.9728097319602966, -0.29340609908103943],
    sha256: 'e97f3de04c7c6ba86354db4402b91d4402ede9c72aabed29a96dd7d635a798ba',
    sum: 149.76480043913034,
  },
];
const FIRST8 = { 0: TABLE[0]!.first8!, 42: TABLE[2]!.first8! } as Record<number, number[]>;
const HEX_FIRST8: Record<number, string> = {
  0: 'bf901b85 bf93808a be804bd6 bede255d 3f594515 3f312783 bea1cc6d c0075fc1',
  42: '3ff6a529 3fbe5f53 3f669567 c006c0db 3f2dacd5 bf9e0591 bd306786 bfcd65ba',
};

const sha256 = (values: Float32Array): string =>
  createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
const hexWords = (values: Float32Array): string =>
  Array.from(new Uint32Array(values.slice().buffer), (w) => w.toString(16).padStart(8, '0')).join(' ');

describe('MT19937 engine', () => {
  it('gives the published first outputs for seed 0 (same as numpy RandomState(0))', () => {
    const engine = new Mt19937(0);
    expect([engine.nextUint32(), engine.nextUint32(), engine.nextUint32()]).toEqual([2357136044, 2546248239, 3071714933]);
  });

  it("gives C++'s required 10000th output for the default seed 5489", () => {
    const engine = new Mt19937(5489);
    for (let i = 1; i < 10000; i++) engine.nextUint32();
    expect(engine.nextUint32()).toBe(4123659995);
  });
});

describe('torch.randn, float32, ≥ 16 elements (the latent path)', () => {
  it.each(TABLE)('seed $seed, $n elements: bit-exact', (row) => {
    const noise = randn([row.n], row.seed);
    expect(noise).toHaveLength(row.n);
    expect(Array.from(noise.subarray(0, 8))).toEqual(FIRST8[row.seed]);
    expect(Array.from(noise.subarray(-4))).toEqual(row.last4);
    expect(sha256(noise)).toBe(row.sha256);
    if (row.sum !== undefined) expect(noise.reduce((a, b) => a + b, 0)).toBeCloseTo(row.sum, 9);
  });

  it.each([0, 42])('seed %i: the first 8 have the listed float32 bit patterns', (seed) => {
    expect(hexWords(randn([1, 4, 2, 2], seed).subarray(0, 8))).toBe(HEX_FIRST8[seed]);
  });

  it('depends only on the element count, not the shape', () => {
    expect(randn([1, 4, 64, 64], 42)).toEqual(randn([16384], 42));
  });

  it('re-draws 16 fresh uniforms for a tail that is not a multiple of 16', () => {
    // 40 = two blocks of 16 plus 8: elements 24..39 come from uniforms 40..55, which is what a
    // 16-element draw gives after a 24-element one has consumed 24 + 16 = 40 uniforms.
    const noise = randn([10, 4], 0);
    expect(noise.subarray(0, 24)).toEqual(randn([32], 0).subarray(0, 24));
    const skip40 = new TorchGenerator(0);
    skip40.randn([24]);
    expect(noise.subarray(24)).toEqual(skip40.randn([16]));
  });
});

describe('torch.randn, fewer than 16 elements (scalar double path)', () => {
  it('seed 0 randn(8) matches the torch documentation', () => {
    const expected = [1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986, 0.4033, 0.838];
    Array.from(randn([8], 0)).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
  });

  it('carries the cached sine over to the next call on the same generator', () => {
    const generator = new TorchGenerator(0);
    expect(Array.from(generator.randn([3]))).toEqual([1.5409960746765137, -0.293428897857666, -2.1787893772125244]);
    expect(Array.from(generator.randn([3]))).toEqual([0.5684312582015991, -1.0845223665237427, -1.3985954523086548]);
  });

  it('manualSeed restarts the stream and drops the cached value', () => {
    const generator = new TorchGenerator(0);
    generator.randn([3]);
    generator.manualSeed(0);
    expect(generator.randn([3])).toEqual(randn([3], 0));
  });
});

describe('seeds', () => {
  it('are taken mod 2^32, negatives as 64-bit two’s complement, as torch does', () => {
    expect(randn([16], 2 ** 32 + 42)).toEqual(randn([16], 42));
    expect(randn([16], 2n ** 64n - 1n)).toEqual(randn([16], 2 ** 32 - 1));
    expect(randn([16], -1)).toEqual(randn([16], 2 ** 32 - 1));
  });

  it('reject what torch rejects or a number cannot hold exactly', () => {
    expect(() => randn([16], 0.5)).toThrow(/whole number/);
    expect(() => randn([16], 2 ** 64)).toThrow(/whole number/);
    expect(() => randn([16], 2n ** 64n)).toThrow(/outside PyTorch's accepted range/);
    expect(() => randn([-1, 16], 0)).toThrow(/non-negative integer/);
  });
});

describe('fmaf (the fused multiply-add the noise kernel relies on)', () => {
  // Exact reference: a·b + c as a BigInt rational, rounded to float32 half-to-even.
  const view = new Float32Array(1);
  const bits = new Uint32Array(view.buffer);
  function decompose(x: number): [bigint, number] {
    view[0] = x;
    const b = bits[0]!;
    const exponent = (b >>> 23) & 0xff;
    const mantissa = BigInt(exponent === 0 ? b & 0x7fffff : (b & 0x7fffff) | 0x800000);
    return [b >>> 31 ? -mantissa : mantissa, (exponent === 0 ? 1 : exponent) - 150];
  }
  function exactFma(a: number, b: number, c: number): number {
    const [ma, ea] = decompose(a);
    const [mb, eb] = decompose(b);
    const [mc, ec] = decompose(c);
    const e = Math.min(ea + eb, ec);
    const n = ((ma * mb) << BigInt(ea + eb - e)) + (mc << BigInt(ec - e));
    if (n === 0n) return 0;
    const negative = n < 0n;
    let magnitude = negative ? -n : n;
    let exponent = e;
    const excess = magnitude.toString(2).length - 24;
    if (excess > 0) {
      const half = 1n << BigInt(excess - 1);
      const remainder = magnitude & ((1n << BigInt(excess)) - 1n);
      magnitude >>= BigInt(excess);
      exponent += excess;
      if (remainder > half || (remainder === half && (magnitude & 1n) === 1n)) magnitude += 1n;
    }
    const value = Number(magnitude) * 2 ** exponent;
    return negative ? -value : value;
  }
  // Deterministic float32 operands from the MT19937 engine: moderate exponents, random signs.
  const engine = new Mt19937(2024);
  const randomF32 = (minExp: number, span: number): number => {
    const mantissa = 1 + (engine.nextUint32() & 0x7fffff) / 2 ** 23;
    const sign = engine.nextUint32() & 1 ? -1 : 1;
    return Math.fround(sign * mantissa * 2 ** (minExp + (engine.nextUint32() % span)));
  };

  it('is correctly rounded on 20,000 random triples', () => {
    for (let i = 0; i < 20000; i++) {
      const [a, b, c] = [randomF32(-20, 40), randomF32(-20, 40), randomF32(-60, 80)];
      expect(fmaf(a, b, c), `fma(${a}, ${b}, ${c})`).toBe(exactFma(a, b, c));
    }
  });

  it('is correctly rounded where the double sum lands on a float32 midpoint (naive rounding fails)', () => {
    let naiveWrong = 0;
    for (let j = 1; j < 2000; j += 2) {
      // (1 + j·2⁻²³)·1.5 is exactly halfway between two float32s; a tiny c decides the direction.
      const a = Math.fround(1 + j * 2 ** -23);
      for (const c of [2 ** -60, -(2 ** -60), 3 * 2 ** -70, -(3 * 2 ** -70)]) {
        const exact = exactFma(a, 1.5, c);
        expect(fmaf(a, 1.5, c)).toBe(exact);
        if (Math.fround(a * 1.5 + c) !== exact) naiveWrong++;
      }
    }
    expect(naiveWrong).toBeGreaterThan(0);
  });
});
