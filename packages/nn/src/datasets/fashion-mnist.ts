/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` package (or any folder of its four IDX
 * files): 60,000 training and 10,000 test 28×28 grey images of 10 kinds of clothing.
 */
import { tensor, type Tensor } from '@fusor/tensor';
import { Dataset, gatherRows, type HostRows } from '../data/dataset.js';
import { loadIdxArray } from '../data/idx.js';

/** Where Debian's package puts the files. */
export const FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist';

export interface FashionMNISTOptions {
  /** A folder with the IDX files (gzip-compressed or not); default: Debian's package. */
  root?: string;
  /** The 60,000 training images (default) or the 10,000 test images. */
  train?: boolean;
  /** Where the tensors live (default 'cpu'). */
  device?: string;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/**
 * Sample i is `[image, label]`: the image a float32 [1, 28, 28] tensor in [0, 1] (torchvision's
 * ToTensor), the label a number. The raw uint8 images and int64 labels are `data` and
 * `targets`; a DataLoader batch is one gather of each.
 */
export class FashionMNIST extends Dataset<[Tensor, number]> {
  static readonly classes = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
  private dataTensor: Tensor | null = null;
  private targetsTensor: Tensor | null = null;

  private constructor(
    private readonly images: HostRows,
    private readonly labels: HostRows,
    private readonly device: string,
  ) {
    super();
  }

  /** All images, uint8 [N, 28, 28] (made on first use: training reads batches from the host copy). */
  get data(): Tensor {
    return (this.dataTensor ??= tensor(this.images.values as Uint8Array, { dtype: 'uint8', device: this.device }).reshape(this.images.shape));
  }

  /** All labels, int64 [N]. */
  get targets(): Tensor {
    return (this.targetsTensor ??= tensor(this.labels.values as Int32Array, { dtype: 'int64', device: this.device }));
  }

  /** Reads the IDX files (Node). Rejects, saying how to install the package, when they are missing. */
  static async load(opts: FashionMNISTOptions = {}): Promise<FashionMNIST> {
    for (const k of Object.keys(opts)) if (!['root', 'train', 'device'].includes(k)) throw new TypeError(`FashionMNIST.load() got an unexpected keyword argument '${k}'`);
    const { existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = opts.root ?? FASHION_MNIST_ROOT;
    const [imgName, lblName] = FILES[opts.train === false ? 'test' : 'train'];
    const find = (name: string): string => {
      for (const f of [join(root, `${name}.gz`), join(root, name)]) if (existsSync(f)) return f;
      throw new Error(
        `Fashion-MNIST not found: no ${name}(.gz) in ${root}. Install it with \`apt-get install dataset-fashion-mnist\` (Debian/Ubuntu), or pass { root } pointing at a folder with the IDX files.`,
      );
    };
    const imgPath = find(imgName);
    const lblPath = find(lblName);
    const images = await loadIdxArray(imgPath);
    const labels = await loadIdxArray(lblPath);
    if (images.shape.length !== 3 || labels.shape.length !== 1 || images.shape[0] !== labels.shape[0]) {
      throw new Error(`Fashion-MNIST files do not match: images [${images.shape.join(', ')}], labels [${labels.shape.join(', ')}]`);
    }
    // labels as int32 on the host (a batch of them becomes an int64 tensor)
    const lbl: HostRows = { dtype: 'int32', shape: labels.shape, values: Int32Array.from(labels.values) };
    return new FashionMNIST(images as HostRows, lbl, opts.device ?? 'cpu');
  }

  len(): number {
    return this.data.shape[0]!;
  }

  getItem(index: number): [Tensor, number] {
    const n = this.len();
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`index ${index} is out of range for a dataset of length ${n}`);
    return [gatherRows(this.images, [i], this.device).float().div(255), Number(this.labels.values[i]!)];
  }

  /** `[images float32 [B, 1, 28, 28], labels int64 [B]]`, gathered on the host: one upload each. */
  getBatch(indices: readonly number[]): [Tensor, Tensor] {
    return [gatherRows(this.images, indices, this.device).float().div(255).unsqueeze(1), gatherRows(this.labels, indices, this.device).long()];
  }
}
