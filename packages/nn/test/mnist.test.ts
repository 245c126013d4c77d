/** IDX files and the Fashion-MNIST dataset (Debian's dataset-fashion-mnist; CI installs it). */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { data, datasets } from '../src/index.js';

const idxBytes = (type: number, shape: number[], body: number[]): Uint8Array => {
  const head = [0, 0, type, shape.length];
  for (const d of shape) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return new Uint8Array([...head, ...body]);
};

describe('IDX reader', () => {
  it('reads ubyte, int and float files big-endian', () => {
    const u8 = data.readIdx(idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5, 255]));
    expect([u8.dtype, u8.shape, u8.tolistSync()]).toEqual(['uint8', [2, 3], [[1, 2, 3], [4, 5, 255]]]);
    const i32 = data.readIdx(idxBytes(0x0c, [2], [0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe]));
    expect([i32.dtype, i32.tolistSync()]).toEqual(['int32', [256, -2]]);
    const f32 = data.readIdx(idxBytes(0x0d, [1], [0x3f, 0xc0, 0, 0]));
    expect([f32.dtype, f32.tolistSync()]).toEqual(['float32', [1.5]]);
  });

  it('bad files raise saying what is wrong', () => {
    expect(() => data.readIdx(new Uint8Array([1, 0, 8, 1]))).toThrow('not an IDX file: it must start with two zero bytes');
    expect(() => data.readIdx(idxBytes(0x07, [1], [0]))).toThrow('IDX type code 0x07 is not one of ubyte, byte, short, int, float, double');
    expect(() => data.readIdx(idxBytes(0x08, [2, 2], [1, 2, 3]))).toThrow('IDX data has 3 bytes, but shape [2, 2] of uint8 needs 4');
    expect(() => data.readIdx(new Uint8Array([0x1f, 0x8b, 8, 0]))).toThrow('IDX data is gzip-compressed');
  });

  it('loadIdxFile reads plain and gzip files', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = mkdtempSync(join(tmpdir(), 'fusor-idx-'));
    const bytes = idxBytes(0x08, [3], [7, 8, 9]);
    writeFileSync(join(dir, 'a-idx1-ubyte'), bytes);
    writeFileSync(join(dir, 'a-idx1-ubyte.gz'), gzipSync(bytes));
    expect((await data.loadIdxFile(join(dir, 'a-idx1-ubyte'))).tolistSync()).toEqual([7, 8, 9]);
    expect((await data.loadIdxFile(join(dir, 'a-idx1-ubyte.gz'))).tolistSync()).toEqual([7, 8, 9]);
  });
});

const ROOT = datasets.FASHION_MNIST_ROOT;
const present = existsSync(join(ROOT, 'train-images-idx3-ubyte.gz'));
// CI installs the package (.ci/run install_datasets); elsewhere the tests say why they skip
const describeData = present || process.env['CI'] ? describe : describe.skip;

describeData(`Fashion-MNIST from ${ROOT}${present ? '' : ' — not installed here: apt-get install dataset-fashion-mnist'}`, () => {
  const golden = JSON.parse(readFileSync(new URL('../fixtures/train-mnist.json', import.meta.url), 'utf8')) as Record<
    'train' | 'test',
    { shape: number[]; labels_head: number[]; label_counts: number[]; image0_sum: number; image_last_sum: number; image0_row14: number[] }
  >;
  for (const split of ['train', 'test'] as const) {
    it(`the ${split} split has PyTorch's images and labels`, async () => {
      const ds = await datasets.FashionMNIST.load({ train: split === 'train' });
      const g = golden[split];
      expect([ds.len(), ds.data.shape, ds.data.dtype, ds.targets.dtype]).toEqual([g.shape[0], g.shape, 'uint8', 'int64']);
      expect((ds.targets.tolistSync() as number[]).slice(0, 20)).toEqual(g.labels_head);
      const counts = Array(10).fill(0) as number[];
      for (const l of ds.targets.tolistSync() as number[]) counts[l]!++;
      expect(counts).toEqual(g.label_counts);
      expect(ds.data.select(0, 0).int().sum().itemSync()).toBe(g.image0_sum);
      expect(ds.data.select(0, -1).int().sum().itemSync()).toBe(g.image_last_sum);
      const [img, label] = ds.getItem(0);
      expect([img.shape, img.dtype, label]).toEqual([[1, 28, 28], 'float32', g.labels_head[0]]);
      const row = (img.tolistSync() as number[][][])[0]![14]!;
      // pixel / 255 in float32 (within an ulp: a product by 1/255 or a true division)
      row.forEach((v, i) => expect(Math.abs(v - g.image0_row14[i]! / 255)).toBeLessThanOrEqual(1.2e-7));
      // a DataLoader batch is the same as collating getItem samples
      const [x, y] = new data.DataLoader(ds, { batchSize: 4 })[Symbol.iterator]().next().value!;
      expect([x!.shape, y!.shape, y!.dtype]).toEqual([[4, 1, 28, 28], [4], 'int64']);
      expect(x!.select(0, 0).tolistSync()).toEqual(img.tolistSync());
      expect(y!.tolistSync()).toEqual(g.labels_head.slice(0, 4));
    }, 60_000);
  }
});

describe('Fashion-MNIST, missing', () => {
  it('says how to install it', async () => {
    await expect(datasets.FashionMNIST.load({ root: '/nonexistent' })).rejects.toThrow(
      'Fashion-MNIST not found: no train-images-idx3-ubyte(.gz) in /nonexistent. Install it with `apt-get install dataset-fashion-mnist`',
    );
    void torch;
  });
});
