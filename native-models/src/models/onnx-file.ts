/**
 * A cheap integrity check of a .onnx file without ONNX Runtime: walk the top-level fields of the
 * ModelProto protobuf and make sure each one fits in the file. A download cut short leaves the
 * header intact but the graph field claiming more bytes than exist, which ORT only reports as
 * "Protobuf parsing failed". Only a few bytes per field are read, so multi-GB files are fine.
 */
import { open } from 'node:fs/promises';

export type OnnxFileProblem =
  | { readonly kind: 'empty' }
  | { readonly kind: 'truncated'; readonly expectedBytes: number; readonly actualBytes: number }
  | { readonly kind: 'not-onnx'; readonly detail: string };

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const FIELD_IR_VERSION = 1;
const FIELD_GRAPH = 7;

/** null when the file looks like a complete ONNX model. */
export async function checkOnnxFile(path: string): Promise<OnnxFileProblem | null> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    if (size === 0) return { kind: 'empty' };
    const header = Buffer.alloc(20);
    let pos = 0;
    let sawIrVersion = false;
    let sawGraph = false;
    while (pos < size) {
      const { bytesRead } = await file.read(header, 0, header.length, pos);
      const tag = readVarint(header, 0, bytesRead);
      if (tag === null) return { kind: 'truncated', expectedBytes: pos + bytesRead + 1, actualBytes: size };
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      let next = pos + tag.length;
      if (field === 0) return { kind: 'not-onnx', detail: `invalid field number at byte ${pos}` };
      if (wire === WIRE_VARINT) {
        const v = readVarint(header, tag.length, bytesRead);
        if (v === null) return { kind: 'truncated', expectedBytes: next + 1, actualBytes: size };
        next += v.length;
      } else if (wire === WIRE_LEN) {
        const len = readVarint(header, tag.length, bytesRead);
        if (len === null) return { kind: 'truncated', expectedBytes: next + 1, actualBytes: size };
        next += len.length + len.value;
      } else if (wire === WIRE_I64) {
        next += 8;
      } else if (wire === WIRE_I32) {
        next += 4;
      } else {
        return { kind: 'not-onnx', detail: `unexpected protobuf wire type ${wire} at byte ${pos}` };
      }
      if (next > size) return { kind: 'truncated', expectedBytes: next, actualBytes: size };
      if (field === FIELD_IR_VERSION && wire === WIRE_VARINT) sawIrVersion = true;
      if (field === FIELD_GRAPH && wire === WIRE_LEN) sawGraph = true;
      pos = next;
    }
    if (!sawIrVersion || !sawGraph) return { kind: 'not-onnx', detail: 'no ir_version or graph field' };
    return null;
  } finally {
    await file.close();
  }
}

/** Protobuf base-128 varint; null when the buffer ends first. Values above 2^53 lose precision, which no real length reaches. */
function readVarint(buf: Buffer, offset: number, end: number): { value: number; length: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < end && i < offset + 10; i++) {
    const byte = buf[i] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, length: i - offset + 1 };
  }
  return null;
}
