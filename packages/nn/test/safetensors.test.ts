/** safetensors: byte-exact with the format's reference writer (fixtures from gen_golden_train.py). */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { safetensors } from '../src/index.js';
import { encode } from '../src/safetensors/format.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/train-safetensors.json', import.meta.url), 'utf8')) as {
  metadata: Record<string, string>;
  order: string[];
  tensors: Record<string, { dtype: string; shape: number[]; values: (number | boolean)[] }>;
  small_hex: string;
};
const pyBytes = new Uint8Array(readFileSync(new URL('../fixtures/train-safetensors.safetensors', import.meta.url)));
// the same tensors less float16/bfloat16, which the cpu backend cannot hold
const pyCpuBytes = new Uint8Array(readFileSync(new URL('../fixtures/train-safetensors-cpu.safetensors', import.meta.url)));
const HALF = new Set(['F16', 'BF16']);
const DTYPE: Record<string, torch.DType> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const build = (): Record<string, torch.Tensor> =>
  Object.fromEntries(
    Object.entries(fixture.tensors).filter(([, v]) => !HALF.has(v.dtype)).map(([k, v]) => [
      k,
      torch.tensor(v.dtype === 'I64' ? BigInt64Array.from(v.values.map((x) => BigInt(x as number))) : (v.values as number[]), { dtype: DTYPE[v.dtype]! }).reshape(v.shape),
    ]),
  );

describe('safetensors against the reference writer', () => {
  it('a file written by python loads with equal values, dtypes and shapes', () => {
    const t = safetensors.load(pyCpuBytes);
    expect(Object.keys(t)).toEqual(fixture.order.filter((k) => !HALF.has(fixture.tensors[k]!.dtype)));
    for (const [k, v] of Object.entries(fixture.tensors).filter(([, v]) => !HALF.has(v.dtype))) {
      expect([k, t[k]!.dtype, t[k]!.shape]).toEqual([k, DTYPE[v.dtype], v.shape]);
      const got = t[k]!.tolistSync();
      expect(got === null ? [] : [got].flat(Infinity as 1), k).toEqual(v.values);
    }
    expect(safetensors.metadata(pyBytes)).toEqual(fixture.metadata);
  });

  it('float16 and bfloat16 load converted on cpu (exact values), and raise naming the key without a dtype', () => {
    const t = safetensors.load(pyBytes, { dtype: 'float32' });
    expect(Object.keys(t)).toEqual(fixture.order);
    for (const k of ['emb', 'emb_bf16', 'double', 'layers.0.weight']) {
      expect([t[k]!.dtype, t[k]!.shape, t[k]!.tolistSync()]).toEqual(['float32', fixture.tensors[k]!.shape, t[k]!.tolistSync()]);
      expect([t[k]!.tolistSync()].flat(2), k).toEqual(fixture.tensors[k]!.values.map((v) => Math.fround(v as number)));
    }
    expect(t['steps']!.dtype).toBe('int64');
    expect(() => safetensors.load(pyBytes)).toThrow("tensor 'emb_bf16': bfloat16 is not supported by the cpu backend (supported: bool, uint8, int8, int16, int32, int64, float32, float64) (pass { dtype: 'float32' } to load it converted)");
  });

  it('float16 and bfloat16 elements encode to the bytes python wrote', () => {
    const header = safetensors.readHeader(pyBytes);
    for (const name of ['emb', 'emb_bf16']) {
      const e = header.tensors.find((t) => t.name === name)!;
      const bytes = pyBytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
      expect(hex(encode(fixture.tensors[name]!.values as number[], e.dtype)), name).toBe(hex(bytes));
    }
    // rounding: to nearest even, overflow to infinity, subnormals, NaN
    expect(hex(encode([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -24, 2 ** -25, -0, Number.NaN], 'float16'))).toBe('003c023c007c010000000080007e');
    expect(hex(encode([1 + 2 ** -8, 1 + 3 * 2 ** -8, -2], 'bfloat16'))).toBe('803f823f00c0');
  });

  it('fusor writes byte-identical files for the same tensors (sorted by dtype, then name)', () => {
    expect(hex(safetensors.save(build(), fixture.metadata))).toBe(hex(pyCpuBytes));
    expect(hex(safetensors.save({ b: torch.tensor([1, 2], { dtype: torch.float32 }), a: torch.tensor([3]) }))).toBe(fixture.small_hex);
  });

  it('an empty dict is "{}" padded to 8 bytes, as the reference', () => {
    expect(Array.from(safetensors.save({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  it('round-trips through a file; async save reads any device', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fusor-st-'));
    const file = join(dir, 'model.safetensors');
    await safetensors.saveFile(build(), file, fixture.metadata);
    expect(hex(new Uint8Array(readFileSync(file)))).toBe(hex(pyCpuBytes));
    const back = await safetensors.loadFile(file);
    expect(back['layers.0.weight']!.tolistSync()).toEqual(build()['layers.0.weight']!.tolistSync());
    expect(hex(await safetensors.saveAsync(back, fixture.metadata))).toBe(hex(pyCpuBytes));
  });
});

describe('bad files raise errors naming the key and the problem', () => {
  const header = (h: object, data = 0): Uint8Array => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const cases: [string, Uint8Array, string][] = [
    ['truncated length', pyBytes.subarray(0, 5), 'file is truncated: 5 bytes, fewer than the 8-byte header length'],
    ['truncated header', pyBytes.subarray(0, 40), 'file is truncated: the header needs'],
    ['truncated data', pyBytes.subarray(0, pyBytes.length - 3), "tensor 'mask': data_offsets [166, 171] are out of range of the 168-byte data section"],
    ['trailing bytes', new Uint8Array([...pyBytes, 0]), 'the data section is 172 bytes but the tensors cover 171'],
    ['bad JSON', header({}).map((b, i) => (i === 9 ? 0x3a : b)), 'header is not valid JSON'],
    ['unknown dtype', header({ w: { dtype: 'F7', shape: [1], data_offsets: [0, 4] } }, 4), `tensor 'w': unknown dtype "F7"`],
    ['unsupported dtype', header({ w: { dtype: 'U16', shape: [2], data_offsets: [0, 4] } }, 4), "tensor 'w': dtype U16 is not supported by fusor"],
    ['offsets out of range', header({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), "tensor 'w': data_offsets [0, 16] are out of range of the 8-byte data section"],
    ['size mismatch', header({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), "tensor 'w': data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"],
    ['bad shape', header({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), "tensor 'w': shape must be an array of non-negative integers, got [-1]"],
    [
      'gap',
      header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12),
      "tensor 'b': data_offsets start at 8, expected 4",
    ],
    ['bad metadata', header({ __metadata__: { a: 1 } }), "'__metadata__' must be an object of strings"],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      expect(() => safetensors.load(bytes)).toThrow(safetensors.SafetensorsError);
      expect(() => safetensors.load(bytes)).toThrow(message);
    });
  }

  it('bad arguments to save raise', () => {
    expect(() => safetensors.save({ w: [1, 2] as never })).toThrow("'w': expected a Tensor, got object");
    expect(() => safetensors.save({ w: torch.zeros(1) }, { v: 1 } as never)).toThrow("metadata 'v': values must be strings, got number");
    expect(() => safetensors.load(pyBytes, { devise: 'cpu' } as never)).toThrow("load() got an unexpected keyword argument 'devise'");
  });
});
