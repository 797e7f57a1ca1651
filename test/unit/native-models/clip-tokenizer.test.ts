import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CONTEXT_LENGTH,
  ClipTokenizer,
  PAD_ID_OPENAI_CLIP,
  PAD_ID_OPENCLIP,
} from '../../../native-models/src/tokenizer/clip-tokenizer.js';
import { readSharedText, sharedDataDir } from './shared-data.js';

const tokenizerDir = path.join(sharedDataDir, 'clip-tokenizer');
const vectors = z
  .array(z.object({ text: z.string(), ids: z.array(z.number()) }))
  .parse(JSON.parse(readSharedText('clip-tokenizer/vectors.json')));
const tokenizer = await ClipTokenizer.fromFolder(tokenizerDir);

const BOS = 49406;
const EOS = 49407;

describe('CLIP tokenizer on the reference vectors', () => {
  it.each(vectors)('$text', ({ text, ids }) => {
    const encoding = tokenizer.encode(text);
    expect(encoding.ids).toEqual(ids);
    expect(encoding.tokenCount).toBe(ids.length - 2);
    expect(encoding.truncated).toBe(false);
    expect(encoding.cutWords).toEqual([]);
    expect(tokenizer.countTokens(text)).toBe(ids.length - 2);
  });
});

describe('CLIP tokenizer text handling', () => {
  it('lower-cases and collapses whitespace, including tabs and newlines', () => {
    expect(tokenizer.encode('  A\tPHOTO \n of a   Cat ').ids).toEqual(tokenizer.encode('a photo of a cat').ids);
  });

  it('reads <|startoftext|> and <|endoftext|> in the text as the special tokens', () => {
    const ids = tokenizer.encode('hello<|endoftext|>world <|startoftext|>').ids;
    const hello = tokenizer.encode('hello').ids[1];
    const world = tokenizer.encode('world').ids[1];
    expect(ids).toEqual([BOS, hello, EOS, world, BOS, EOS]);
  });

  it('splits words from digits one digit at a time, like the reference pattern', () => {
    // "4k" in the astronaut vector is "4" then "k"; a year is four digit tokens.
    expect(tokenizer.countTokens('1999')).toBe(4);
  });

  it('encodes any Unicode through the byte-level fallback, never failing', () => {
    const encoding = tokenizer.encode('café 東京 😀');
    expect(encoding.ids[0]).toBe(BOS);
    expect(encoding.ids.at(-1)).toBe(EOS);
    expect(encoding.tokenCount).toBeGreaterThanOrEqual(3);
  });

  it('treats composed and decomposed accents alike (NFC)', () => {
    expect(tokenizer.encode('cafe\u0301').ids).toEqual(tokenizer.encode('caf\u00e9').ids);
  });
});

describe('77-token context', () => {
  const long = Array.from({ length: 40 }, (_, i) => `Red${i} cat`).join(' ');

  it('pads with the id the encoder expects', () => {
    const sd15 = tokenizer.encode('a photo of a cat', { padTo: CONTEXT_LENGTH, padId: PAD_ID_OPENAI_CLIP });
    expect(sd15.ids).toEqual([...vectors[0]!.ids, ...Array<number>(70).fill(49407)]);
    const openClip = tokenizer.encode('a photo of a cat', { padTo: CONTEXT_LENGTH, padId: PAD_ID_OPENCLIP });
    expect(openClip.ids).toEqual([...vectors[0]!.ids, ...Array<number>(70).fill(0)]);
  });

  it('keeps BOS + 75 tokens + EOS and names the words that were cut, as typed', () => {
    // "red0".."red9" are 2 tokens, "red10".. 3 tokens, "cat" 1: 10·3 + 11·4 = 74 tokens through
    // "Red20 cat", so "Red21" keeps only "red" and loses its digits.
    const encoding = tokenizer.encode(long, { padTo: CONTEXT_LENGTH, padId: PAD_ID_OPENCLIP });
    expect(encoding.ids).toHaveLength(CONTEXT_LENGTH);
    expect(encoding.ids[0]).toBe(BOS);
    expect(encoding.ids[76]).toBe(EOS);
    expect(encoding.ids[75]).toBe(tokenizer.encode('red').ids[1]);
    expect(encoding.truncated).toBe(true);
    expect(encoding.tokenCount).toBe(10 * 3 + 30 * 4);
    expect(encoding.cutWords[0]).toBe('Red21');
    expect(encoding.cutWords).toHaveLength(2 * (40 - 21));
    expect(encoding.cutWords.at(-1)).toBe('cat');
  });

  it('does not report a prompt of exactly 75 tokens as truncated', () => {
    const exact = Array.from({ length: 75 }, () => 'cat').join(' ');
    const encoding = tokenizer.encode(exact, { padTo: CONTEXT_LENGTH, padId: PAD_ID_OPENAI_CLIP });
    expect(encoding.truncated).toBe(false);
    expect(encoding.ids.at(-1)).toBe(EOS);
    expect(tokenizer.encode(`${exact} cat`).cutWords).toEqual(['cat']);
  });

  it('refuses to pad below the encoded length', () => {
    expect(() => tokenizer.encode(long, { padTo: 10, padId: 0 })).toThrow(/Cannot pad 77 ids to 10/);
  });
});

describe('loading', () => {
  it('reads a folder once and shares the tokenizer', async () => {
    expect(await ClipTokenizer.fromFolder(tokenizerDir)).toBe(tokenizer);
    expect(await ClipTokenizer.fromFolder(`${tokenizerDir}/./`)).toBe(tokenizer);
  });

  it('explains a folder without tokenizer files', async () => {
    await expect(ClipTokenizer.fromFolder(sharedDataDir)).rejects.toThrow(/needs vocab.json and merges.txt/);
  });

  it('rejects a vocabulary without the CLIP special tokens', () => {
    expect(() => ClipTokenizer.fromFileContents('{"a</w>": 0}', '#version: 0.2\n')).toThrow(/not a CLIP tokenizer/);
  });

  it('reports a merge whose result the vocabulary lacks', () => {
    const vocab = JSON.stringify({ a: 0, 'b</w>': 1, '<|startoftext|>': 2, '<|endoftext|>': 3 });
    const mismatched = ClipTokenizer.fromFileContents(vocab, '#version: 0.2\na b</w>\n');
    expect(() => mismatched.encode('ab')).toThrow(/no entry for "ab<\/w>"; vocab.json and merges.txt do not match/);
  });
});
