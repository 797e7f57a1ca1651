/**
 * The CLIP byte-level BPE tokenizer used by every Stable Diffusion text encoder, ported from
 * openai/CLIP `simple_tokenizer.py` (which diffusers' `CLIPTokenizer` follows), so a prompt gives
 * the exact ids the encoders were trained with. Loads the `vocab.json` + `merges.txt` pair that
 * diffusers/Optimum model folders ship in `tokenizer/` (and `tokenizer_2/` for SDXL).
 *
 * Text handling: NFC, whitespace runs collapsed and trimmed, lower-cased (ftfy's mojibake repair and
 * HTML unescaping of the original are not applied). `<|startoftext|>` / `<|endoftext|>` written in
 * the prompt are the special tokens.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** CLIP's context: BOS + up to 75 prompt tokens + EOS. */
export const CONTEXT_LENGTH = 77;
export const MAX_PROMPT_TOKENS = CONTEXT_LENGTH - 2;
/** Pad id for SD 1.x / LCM and SDXL's first encoder (`<|endoftext|>`). */
export const PAD_ID_OPENAI_CLIP = 49407;
/** Pad id for OpenCLIP encoders: SD 2.x / SD-Turbo and SDXL's second encoder (`!`). */
export const PAD_ID_OPENCLIP = 0;

const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';
const SPECIAL_TOKEN = /<\|startoftext\|>|<\|endoftext\|>/g;
// simple_tokenizer.py's pattern minus the special tokens, which are split out beforehand.
const PRE_TOKEN = /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;
const END_OF_WORD = '</w>';
/** Live typing produces endless word prefixes; forgetting them all now and then keeps memory flat. */
const WORD_CACHE_LIMIT = 20_000;

export type EncodeOptions = { readonly padTo?: undefined } | { readonly padTo: number; readonly padId: number };

export interface ClipEncoding {
  /** BOS, the first ≤ 75 prompt tokens, EOS, then padding up to `padTo` when asked for. */
  readonly ids: number[];
  /** Prompt tokens before truncation, without BOS/EOS (compare with `MAX_PROMPT_TOKENS`). */
  readonly tokenCount: number;
  readonly truncated: boolean;
  /** Words of the prompt, as typed, that lost some or all of their tokens to truncation. */
  readonly cutWords: string[];
}

interface PromptTokens {
  readonly ids: readonly number[];
  /** For each id, the index in `words` of the whitespace-separated word it came from. */
  readonly wordOfToken: readonly number[];
  readonly words: readonly string[];
}

const byteToUnicode = buildByteToUnicode();
const utf8 = new TextEncoder();
const loadedFolders = new Map<string, Promise<ClipTokenizer>>();

export class ClipTokenizer {
  private readonly wordCache = new Map<string, readonly number[]>();
  private readonly bosId: number;
  private readonly eosId: number;

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly mergeRanks: ReadonlyMap<string, number>,
  ) {
    const bos = vocab.get(START_OF_TEXT);
    const eos = vocab.get(END_OF_TEXT);
    if (bos === undefined || eos === undefined) {
      throw new Error(`This vocab.json has no ${START_OF_TEXT} / ${END_OF_TEXT}: it is not a CLIP tokenizer.`);
    }
    this.bosId = bos;
    this.eosId = eos;
  }

  /**
   * Load `vocab.json` and `merges.txt` from a tokenizer folder. Each folder is read once per
   * process; later calls share the same tokenizer (and its cache).
   */
  static fromFolder(dir: string): Promise<ClipTokenizer> {
    const key = path.resolve(dir);
    let loading = loadedFolders.get(key);
    if (loading === undefined) {
      loading = readTokenizerFolder(key);
      loadedFolders.set(key, loading);
      // A failed load (missing folder, say) must not poison later attempts after the user fixes it.
      loading.catch(() => loadedFolders.delete(key));
    }
    return loading;
  }

  /** Build from file contents; `fromFolder` is the usual way in. */
  static fromFileContents(vocabJson: string, mergesTxt: string, source = 'tokenizer files'): ClipTokenizer {
    return new ClipTokenizer(parseVocab(vocabJson, source), parseMerges(mergesTxt, source));
  }

  encode(text: string, options: EncodeOptions = {}): ClipEncoding {
    const prompt = this.tokenizePrompt(text);
    const truncated = prompt.ids.length > MAX_PROMPT_TOKENS;
    const ids = [this.bosId, ...prompt.ids.slice(0, MAX_PROMPT_TOKENS), this.eosId];
    const firstCutWord = prompt.wordOfToken[MAX_PROMPT_TOKENS];
    const cutWords = truncated && firstCutWord !== undefined ? prompt.words.slice(firstCutWord) : [];
    if (options.padTo !== undefined) {
      if (options.padTo < ids.length) {
        throw new RangeError(`Cannot pad ${ids.length} ids to ${options.padTo}; CLIP needs ${CONTEXT_LENGTH}.`);
      }
      while (ids.length < options.padTo) ids.push(options.padId);
    }
    return { ids, tokenCount: prompt.ids.length, truncated, cutWords };
  }

  /** Prompt tokens the text needs, without BOS/EOS and without truncation. */
  countTokens(text: string): number {
    return this.tokenizePrompt(text).ids.length;
  }

  private tokenizePrompt(text: string): PromptTokens {
    const words = text.normalize('NFC').trim().split(/\s+/).filter((w) => w.length > 0);
    const ids: number[] = [];
    const wordOfToken: number[] = [];
    words.forEach((word, wordIndex) => {
      // Matches never span whitespace, so splitting on it first gives the same pieces as
      // running the pattern over the whole collapsed text, and tells us which word each came from.
      for (const piece of splitSpecialTokens(word.toLowerCase())) {
        for (const id of this.pieceIds(piece)) {
          ids.push(id);
          wordOfToken.push(wordIndex);
        }
      }
    });
    return { ids, wordOfToken, words };
  }

  private pieceIds(piece: string): readonly number[] {
    const cached = this.wordCache.get(piece);
    if (cached !== undefined) return cached;
    const ids = piece === START_OF_TEXT ? [this.bosId] : piece === END_OF_TEXT ? [this.eosId] : this.bpeIds(piece);
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(piece, ids);
    return ids;
  }

  private bpeIds(piece: string): number[] {
    const bytes = utf8.encode(piece);
    let word: string[] = [];
    bytes.forEach((byte, i) => word.push(byteToUnicode[byte]! + (i === bytes.length - 1 ? END_OF_WORD : '')));
    while (word.length > 1) {
      let bestRank = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.mergeRanks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          first = word[i]!;
          second = word[i + 1]!;
        }
      }
      if (bestRank === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(word[i]!);
        }
      }
      word = merged;
    }
    return word.map((token) => requireId(this.vocab, token));
  }
}

function* splitSpecialTokens(lowered: string): Generator<string> {
  let start = 0;
  for (const special of lowered.matchAll(SPECIAL_TOKEN)) {
    yield* lowered.slice(start, special.index).match(PRE_TOKEN) ?? [];
    yield special[0];
    start = special.index + special[0].length;
  }
  yield* lowered.slice(start).match(PRE_TOKEN) ?? [];
}

/** GPT-2's reversible map from bytes to printable characters, so BPE never sees raw control bytes. */
function buildByteToUnicode(): string[] {
  const table: string[] = new Array<string>(256);
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
}

async function readTokenizerFolder(dir: string): Promise<ClipTokenizer> {
  const vocabPath = path.join(dir, 'vocab.json');
  const mergesPath = path.join(dir, 'merges.txt');
  let vocabJson: string;
  let mergesTxt: string;
  try {
    [vocabJson, mergesTxt] = await Promise.all([readFile(vocabPath, 'utf8'), readFile(mergesPath, 'utf8')]);
  } catch (cause) {
    throw new Error(
      `Could not read the CLIP tokenizer in ${dir}: it needs vocab.json and merges.txt ` +
        `(diffusers model folders keep them in tokenizer/ and tokenizer_2/).`,
      { cause },
    );
  }
  return ClipTokenizer.fromFileContents(vocabJson, mergesTxt, dir);
}

function parseVocab(json: string, source: string): Map<string, number> {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`vocab.json in ${source} is not a token → id object.`);
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(parsed)) {
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      throw new Error(`vocab.json in ${source} maps ${JSON.stringify(token)} to a non-integer id.`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

function parseMerges(text: string, source: string): Map<string, number> {
  const ranks = new Map<string, number>();
  const lines = text.split('\n').map((line) => line.trimEnd());
  const merges = lines.filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith('#version')));
  merges.forEach((merge, rank) => {
    if (merge.split(' ').length !== 2) {
      throw new Error(`merges.txt in ${source} has a line that is not a "left right" pair: ${JSON.stringify(merge)}.`);
    }
    // Rank is the line's position; a repeated pair keeps its last rank, as Python's dict(zip(...)) does.
    ranks.set(merge, rank);
  });
  return ranks;
}

function requireId(vocab: ReadonlyMap<string, number>, token: string): number {
  const id = vocab.get(token);
  if (id === undefined) {
    throw new Error(`The CLIP vocabulary has no entry for ${JSON.stringify(token)}; vocab.json and merges.txt do not match.`);
  }
  return id;
}
