/**
 * The Fashion-MNIST subset the fashion page trains on, cut at build time (and served by the dev
 * server) from Debian's dataset-fashion-mnist files: nothing large is committed. Node-only; used
 * by vite.config.ts.
 *
 * Format of fashion-subset.bin (little-endian): uint32 nTrain, nTest, rows, cols; then the train
 * images (nTrain·rows·cols uint8), train labels (nTrain uint8), test images, test labels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

export const FASHION_MNIST_ROOT = process.env['FUSOR_FASHION_MNIST'] ?? '/usr/share/datasets/fashion-mnist';
export const SUBSET_FILE = 'fashion-subset.bin';
export const SUBSET = { train: 2048, test: 512 } as const;

/** The first `n` items of an IDX file (magic 0x0803 images or 0x0801 labels), checked. */
function idx(file: string, n: number): { data: Uint8Array; dims: number[] } {
  const buf = gunzipSync(readFileSync(join(FASHION_MNIST_ROOT, file)));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  if (magic >> 8 !== 0x08) throw new Error(`${file}: not an unsigned-byte IDX file (magic 0x${magic.toString(16)})`);
  const dims = Array.from({ length: magic & 0xff }, (_, i) => view.getUint32(4 + 4 * i));
  if (dims[0]! < n) throw new Error(`${file}: ${dims[0]} items, ${n} wanted`);
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  const start = 4 + 4 * dims.length;
  return { data: buf.subarray(start, start + n * per), dims };
}

/** The subset's bytes, or why it cannot be made here. */
export function fashionSubset(): Uint8Array | string {
  if (!existsSync(join(FASHION_MNIST_ROOT, 'train-images-idx3-ubyte.gz'))) {
    return `Fashion-MNIST not found in ${FASHION_MNIST_ROOT} (apt-get install dataset-fashion-mnist, or set FUSOR_FASHION_MNIST)`;
  }
  const parts = [
    idx('train-images-idx3-ubyte.gz', SUBSET.train),
    idx('train-labels-idx1-ubyte.gz', SUBSET.train),
    idx('t10k-images-idx3-ubyte.gz', SUBSET.test),
    idx('t10k-labels-idx1-ubyte.gz', SUBSET.test),
  ];
  const [rows, cols] = parts[0]!.dims.slice(1) as [number, number];
  const header = new Uint8Array(16);
  new DataView(header.buffer).setUint32(0, SUBSET.train, true);
  new DataView(header.buffer).setUint32(4, SUBSET.test, true);
  new DataView(header.buffer).setUint32(8, rows, true);
  new DataView(header.buffer).setUint32(12, cols, true);
  const out = new Uint8Array(16 + parts.reduce((s, p) => s + p.data.length, 0));
  out.set(header);
  let at = 16;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

/**
 * Serves /fashion-subset.bin in dev and preview and emits it into the build; where the dataset is
 * missing the build still succeeds and the page says why it has no data (the file is absent).
 */
export function fashionSubsetPlugin(): Plugin {
  let bytes: Uint8Array | string | undefined;
  const get = (): Uint8Array | string => (bytes ??= fashionSubset());
  return {
    name: 'fusor-fashion-subset',
    configureServer(server) {
      server.middlewares.use(`/${SUBSET_FILE}`, (_req, res) => {
        const b = get();
        if (typeof b === 'string') {
          res.statusCode = 404;
          res.end(b);
        } else {
          res.setHeader('content-type', 'application/octet-stream');
          res.end(b);
        }
      });
    },
    generateBundle() {
      const b = get();
      if (typeof b === 'string') this.warn(b);
      else this.emitFile({ type: 'asset', fileName: SUBSET_FILE, source: b });
    },
  };
}
