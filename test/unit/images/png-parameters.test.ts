import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  embedParameters,
  formatA1111,
  parseA1111,
  readParameters,
  type GenerationParameters,
} from '../../../src/core/images/generation-parameters.js';
import { readPngText, writePngText } from '../../../src/core/images/png-text.js';
import { makePng, rawPixels } from './test-images.js';

let png: Buffer;
beforeAll(async () => {
  png = await makePng(64, 48);
});

const params: GenerationParameters = {
  prompt: 'a lighthouse at dusk, volumetric light,\nfilm grain',
  negativePrompt: 'blurry, text',
  provider: 'local',
  model: 'sd-turbo',
  width: 512,
  height: 512,
  seed: 1234567,
  steps: 4,
  guidanceScale: 0,
  scheduler: 'euler-trailing',
  extra: { quality: 'high', style: 'photo, warm', strength: 0.6, tiled: false },
};

/** A chunk built independently of the code under test, as another tool would write it. */
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
  return out;
}

function insertAfterIhdr(file: Buffer, extra: Buffer): Buffer {
  const ihdrEnd = 8 + 12 + file.readUInt32BE(8);
  return Buffer.concat([file.subarray(0, ihdrEnd), extra, file.subarray(ihdrEnd)]);
}

describe('PNG text chunks', () => {
  it('writes tEXt for Latin-1 and iTXt for anything else, and reads both back', async () => {
    const out = writePngText(png, [
      { keyword: 'parameters', text: 'café, 4 steps' },
      { keyword: 'Comment', text: '灯台 🌅 at dusk' },
    ]);
    expect(out.includes(Buffer.from('tEXtparameters'))).toBe(true);
    expect(out.includes(Buffer.from('iTXtComment'))).toBe(true);
    expect(readPngText(out)).toEqual([
      { keyword: 'parameters', text: 'café, 4 steps' },
      { keyword: 'Comment', text: '灯台 🌅 at dusk' },
    ]);
    // The image is still a valid PNG with the same pixels.
    expect(await rawPixels(out)).toEqual(await rawPixels(png));
  });

  it('replaces an entry with the same keyword instead of adding a second', () => {
    const once = writePngText(png, [{ keyword: 'parameters', text: 'old' }]);
    const twice = writePngText(once, [{ keyword: 'parameters', text: 'new' }]);
    expect(readPngText(twice)).toEqual([{ keyword: 'parameters', text: 'new' }]);
  });

  it('reads zTXt and compressed iTXt written by other tools, and skips a chunk with a bad CRC', () => {
    const ztxt = chunk('zTXt', Buffer.concat([Buffer.from('Software\0\0', 'latin1'), zlib.deflateSync(Buffer.from('ComfyUI', 'latin1'))]));
    const itxt = chunk('iTXt', Buffer.concat([Buffer.from('prompt\0\x01\0en\0\0', 'latin1'), zlib.deflateSync(Buffer.from('{"3":{"class_type":"KSampler"}}', 'utf8'))]));
    const corrupt = chunk('tEXt', Buffer.from('Author\0someone', 'latin1'));
    corrupt.writeUInt32BE((corrupt.readUInt32BE(corrupt.length - 4) ^ 1) >>> 0, corrupt.length - 4);
    const file = insertAfterIhdr(png, Buffer.concat([ztxt, itxt, corrupt]));
    expect(readPngText(file)).toEqual([
      { keyword: 'Software', text: 'ComfyUI' },
      { keyword: 'prompt', text: '{"3":{"class_type":"KSampler"}}' },
    ]);
  });

  it('refuses what is not a PNG and a keyword the format does not allow', () => {
    expect(() => readPngText(Buffer.from('GIF89a not a png'))).toThrow(/not a PNG/);
    expect(() => writePngText(png, [{ keyword: '', text: 'x' }])).toThrow(/not a valid PNG text keyword/);
    expect(() => writePngText(png, [{ keyword: 'x'.repeat(80), text: 'x' }])).toThrow(/not a valid PNG text keyword/);
  });
});

describe('generation parameters in PNGs', () => {
  it('round-trips exactly through our JSON key', () => {
    expect(readParameters(embedParameters(png, params))).toEqual(params);
  });

  it('writes the A1111 "parameters" text other tools read', () => {
    const text = readPngText(embedParameters(png, params)).find((e) => e.keyword === 'parameters')?.text;
    expect(text).toBe(
      'a lighthouse at dusk, volumetric light,\nfilm grain\nNegative prompt: blurry, text\n' +
        'Steps: 4, Sampler: euler-trailing, CFG scale: 0, Seed: 1234567, Size: 512x512, Model: sd-turbo, Provider: local, ' +
        'quality: high, style: "photo, warm", strength: 0.6, tiled: false',
    );
  });

  it('falls back to the A1111 text for images from A1111 or Forge', () => {
    const a1111 = 'portrait of a cat\nNegative prompt: lowres\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 42, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly';
    const file = writePngText(png, [{ keyword: 'parameters', text: a1111 }]);
    expect(readParameters(file)).toEqual({
      prompt: 'portrait of a cat',
      negativePrompt: 'lowres',
      steps: 20,
      scheduler: 'DPM++ 2M Karras',
      guidanceScale: 7,
      seed: 42,
      width: 512,
      height: 768,
      model: 'v1-5-pruned-emaonly',
      extra: { 'Model hash': '6ce0161689' },
    });
  });

  it('parses what it formats, for the fields A1111 knows', () => {
    const back = parseA1111(formatA1111(params));
    expect(back).toMatchObject({ prompt: params.prompt, negativePrompt: 'blurry, text', seed: 1234567, steps: 4, width: 512, height: 512, model: 'sd-turbo' });
    expect(back.extra).toMatchObject({ style: 'photo, warm', strength: 0.6 });
  });

  it('returns null for a PNG without parameters', () => {
    expect(readParameters(png)).toBeNull();
  });
});
