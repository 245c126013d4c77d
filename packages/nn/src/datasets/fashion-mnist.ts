/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` package (or any folder of its four IDX
 * files): 60,000 training and 10,000 test 28×28 grey images of 10 kinds of clothing.
 */
import { tensor, type Tensor } from '@fusor/tensor';
import { Dataset } from '../data/dataset.js';
import { loadIdxFile } from '../data/idx.js';

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
  private labels: Int32Array | null = null;

  private constructor(
    /** uint8 [N, 28, 28] */
    readonly data: Tensor,
    /** int64 [N] */
    readonly targets: Tensor,
  ) {
    super();
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
    const images = await loadIdxFile(imgPath, { device: opts.device });
    const labels = await loadIdxFile(lblPath, { device: opts.device });
    if (images.ndim !== 3 || labels.ndim !== 1 || images.shape[0] !== labels.shape[0]) {
      throw new Error(`Fashion-MNIST files do not match: images [${images.shape.join(', ')}], labels [${labels.shape.join(', ')}]`);
    }
    return new FashionMNIST(images, labels.long());
  }

  len(): number {
    return this.data.shape[0]!;
  }

  getItem(index: number): [Tensor, number] {
    const n = this.len();
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`index ${index} is out of range for a dataset of length ${n}`);
    this.labels ??= Int32Array.from(this.targets.dataSync() as BigInt64Array, Number);
    return [this.data.select(0, i).float().div(255).unsqueeze(0), this.labels[i]!];
  }

  /** `[images float32 [B, 1, 28, 28], labels int64 [B]]` as two gathers. */
  getBatch(indices: readonly number[]): [Tensor, Tensor] {
    const idx = tensor(Int32Array.from(indices), { device: this.data.device });
    return [this.data.indexSelect(0, idx).float().div(255).unsqueeze(1), this.targets.indexSelect(0, idx)];
  }
}
