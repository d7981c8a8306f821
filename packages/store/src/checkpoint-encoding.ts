import type { Encoding } from './encoding.js';
import type { ModelCheckpointRecord } from './records.js';

const MAGIC = 0x53474331; // "SGC1"
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Model checkpoints are mostly float32 weights: JSON would triple their size and lose nothing but
 * time. Layout: magic u32 | header length u32 | header JSON | padding to 4 | float32 LE values.
 */
export function checkpointEncoding(): Encoding<ModelCheckpointRecord> {
  return {
    encode(record) {
      const { weights, ...rest } = record;
      const header = encoder.encode(JSON.stringify({ ...rest, layout: weights.layout, count: weights.values.length }));
      const headerEnd = 8 + header.length;
      const dataStart = (headerEnd + 3) & ~3;
      const out = new Uint8Array(dataStart + weights.values.length * 4);
      const view = new DataView(out.buffer);
      view.setUint32(0, MAGIC, true);
      view.setUint32(4, header.length, true);
      out.set(header, 8);
      for (let i = 0; i < weights.values.length; i++) view.setFloat32(dataStart + i * 4, weights.values[i], true);
      return out;
    },
    decode(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (bytes.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a model checkpoint (bad magic)');
      const headerLength = view.getUint32(4, true);
      if (8 + headerLength > bytes.byteLength) throw new Error('truncated checkpoint header');
      const header = JSON.parse(decoder.decode(bytes.subarray(8, 8 + headerLength))) as Omit<ModelCheckpointRecord, 'weights'> & {
        layout: ModelCheckpointRecord['weights']['layout'];
        count: number;
      };
      const dataStart = (8 + headerLength + 3) & ~3;
      if (dataStart + header.count * 4 !== bytes.byteLength) throw new Error('checkpoint length does not match its header');
      const values = new Float32Array(header.count);
      for (let i = 0; i < header.count; i++) values[i] = view.getFloat32(dataStart + i * 4, true);
      const { layout, count: _count, ...rest } = header;
      return { ...rest, weights: { layout, values } };
    },
  };
}
