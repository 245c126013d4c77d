/** torch.utils.data: datasets, DataLoader, collate, seeded Generator, a progress bar, IDX files. */
export { Dataset, IterableDataset, TensorDataset, Subset, randomSplit } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { defaultCollate, type Collated } from './collate.js';
export { Generator } from './generator.js';
export { readIdx, parseIdx, loadIdxFile, loadIdxArray, IdxError, type IdxArray } from './idx.js';
export { progress, Progress, formatMeter, formatInterval, type ProgressOptions, type ProgressStream, type MeterState } from './progress.js';
