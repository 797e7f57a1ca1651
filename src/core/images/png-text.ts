import zlib from 'node:zlib';
import { AppError } from '../../contract/errors.js';

/**
 * PNG text chunks (tEXt, iTXt; zTXt read only), written by hand because sharp neither writes nor
 * exposes them. Layout per chunk: 4-byte big-endian length, 4-byte type, data, CRC-32 of type + data.
 */
export interface PngTextEntry {
  keyword: string;
  text: string;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Chunk {
  type: string;
  data: Buffer;
  /** Offsets of the whole chunk (length field to CRC end) in the file. */
  start: number;
  end: number;
  crcOk: boolean;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length && Buffer.from(bytes.buffer, bytes.byteOffset, SIGNATURE.length).equals(SIGNATURE);
}

function chunks(png: Buffer): Chunk[] {
  if (!isPng(png)) throw new AppError('invalid_input', 'This file is not a PNG image.');
  const out: Chunk[] = [];
  let offset = SIGNATURE.length;
  while (offset + 12 <= png.length) {
    const length = png.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > png.length) throw new AppError('invalid_input', 'This PNG is truncated (a chunk runs past the end of the file).');
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crcOk = zlib.crc32(png.subarray(offset + 4, offset + 8 + length)) === png.readUInt32BE(offset + 8 + length);
    out.push({ type, data, start: offset, end, crcOk });
    offset = end;
    if (type === 'IEND') break;
  }
  if (out[0]?.type !== 'IHDR') throw new AppError('invalid_input', 'This PNG has no IHDR chunk where it must start.');
  return out;
}

function encodeChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const isLatin1 = (text: string): boolean => [...text].every((ch) => (ch.codePointAt(0) ?? 0) <= 0xff);

function assertKeyword(keyword: string): void {
  // PNG spec: 1–79 printable Latin-1 characters, no leading, trailing or double spaces.
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword) || /^ | $| {2}/.test(keyword)) {
    throw new AppError('invalid_input', `"${keyword}" is not a valid PNG text keyword.`);
  }
}

/**
 * Text entries as tEXt when the text fits Latin-1 (what most readers expect, and what A1111 writes),
 * otherwise iTXt in UTF-8.
 */
function encodeText(entry: PngTextEntry): Buffer {
  assertKeyword(entry.keyword);
  const keyword = Buffer.from(entry.keyword, 'latin1');
  if (isLatin1(entry.text) && !entry.text.includes('\u0000')) {
    return encodeChunk('tEXt', Buffer.concat([keyword, Buffer.from([0]), Buffer.from(entry.text, 'latin1')]));
  }
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, UTF-8 text.
  return encodeChunk('iTXt', Buffer.concat([keyword, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(entry.text, 'utf8')]));
}

function decodeText(chunk: Chunk): PngTextEntry | null {
  const nul = chunk.data.indexOf(0);
  if (nul < 1) return null;
  const keyword = chunk.data.toString('latin1', 0, nul);
  const rest = chunk.data.subarray(nul + 1);
  if (chunk.type === 'tEXt') return { keyword, text: rest.toString('latin1') };
  if (chunk.type === 'zTXt') return { keyword, text: zlib.inflateSync(rest.subarray(1)).toString('latin1') };
  // iTXt: compression flag, method, language tag \0, translated keyword \0, text.
  const compressed = rest[0] === 1;
  const langEnd = rest.indexOf(0, 2);
  const translatedEnd = langEnd < 0 ? -1 : rest.indexOf(0, langEnd + 1);
  if (translatedEnd < 0) return null;
  const body = rest.subarray(translatedEnd + 1);
  return { keyword, text: (compressed ? zlib.inflateSync(body) : body).toString('utf8') };
}

/** Every intact text entry in the file, in file order; chunks with a bad CRC are skipped. */
export function readPngText(png: Uint8Array): PngTextEntry[] {
  const entries: PngTextEntry[] = [];
  for (const chunk of chunks(Buffer.from(png.buffer, png.byteOffset, png.byteLength))) {
    if (!chunk.crcOk || !['tEXt', 'iTXt', 'zTXt'].includes(chunk.type)) continue;
    try {
      const entry = decodeText(chunk);
      if (entry) entries.push(entry);
    } catch {
      // A corrupt compressed chunk is not worth failing the whole read for; the other entries stand.
      continue;
    }
  }
  return entries;
}

/**
 * A copy of `png` with these entries right after IHDR (so readers find them without scanning the
 * image data), replacing any existing entries with the same keywords. The pixels are untouched.
 */
export function writePngText(png: Uint8Array, entries: readonly PngTextEntry[]): Buffer {
  const source = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const all = chunks(source);
  const replaced = new Set(entries.map((e) => e.keyword));
  const parts: Buffer[] = [SIGNATURE];
  for (const [index, chunk] of all.entries()) {
    const isText = ['tEXt', 'iTXt', 'zTXt'].includes(chunk.type);
    if (isText && replaced.has(keywordOf(chunk))) continue;
    parts.push(source.subarray(chunk.start, chunk.end));
    if (index === 0) parts.push(...entries.map(encodeText));
  }
  return Buffer.concat(parts);
}

function keywordOf(chunk: Chunk): string {
  const nul = chunk.data.indexOf(0);
  return nul < 0 ? '' : chunk.data.toString('latin1', 0, nul);
}
