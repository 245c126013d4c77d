import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

// Tensors computed through the whole pipeline (lazy graph → kernels → read → format), printed
// against torch 1.13's str(t) for the same values. format.test.ts covers the formatter alone.
const f32 = { dtype: torch.float32 };

const CASES: [string, () => torch.Tensor, string][] = [
  ['scientific notation for a wide range', () => torch.tensor([1e-5, 1.0, 12345678.0]), 'tensor([1.0000e-05, 1.0000e+00, 1.2346e+07])'],
  [
    'scientific notation with signs and a computed zero',
    () => torch.tensor([[1e10, 2.5], [-3e-3, 0.5]]).mul(torch.tensor([[1, 1], [1, 0]])),
    'tensor([[ 1.0000e+10,  2.5000e+00],\n        [-3.0000e-03,  0.0000e+00]])',
  ],
  ['scientific when the ratio reaches 1000', () => torch.tensor([0.001, 1000], f32), 'tensor([1.0000e-03, 1.0000e+03])'],
  ['a large float scalar', () => torch.tensor(1e20, f32), 'tensor(1.0000e+20)'],
  ['a large int64 tensor summarized with ...', () => torch.arange(2000), 'tensor([   0,    1,    2,  ..., 1997, 1998, 1999])'],
  [
    'a large float tensor summarized in scientific notation',
    () => torch.arange(1500).float().mul(1.5),
    'tensor([0.0000e+00, 1.5000e+00, 3.0000e+00,  ..., 2.2455e+03, 2.2470e+03,\n        2.2485e+03])',
  ],
  [
    'a large 2-d tensor summarized over rows and columns',
    () => torch.arange(2000).float().reshape(40, 50).mul(0.5),
    'tensor([[0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 2.3500e+01, 2.4000e+01,\n' +
      '         2.4500e+01],\n' +
      '        [2.5000e+01, 2.5500e+01, 2.6000e+01,  ..., 4.8500e+01, 4.9000e+01,\n' +
      '         4.9500e+01],\n' +
      '        [5.0000e+01, 5.0500e+01, 5.1000e+01,  ..., 7.3500e+01, 7.4000e+01,\n' +
      '         7.4500e+01],\n' +
      '        ...,\n' +
      '        [9.2500e+02, 9.2550e+02, 9.2600e+02,  ..., 9.4850e+02, 9.4900e+02,\n' +
      '         9.4950e+02],\n' +
      '        [9.5000e+02, 9.5050e+02, 9.5100e+02,  ..., 9.7350e+02, 9.7400e+02,\n' +
      '         9.7450e+02],\n' +
      '        [9.7500e+02, 9.7550e+02, 9.7600e+02,  ..., 9.9850e+02, 9.9900e+02,\n' +
      '         9.9950e+02]])',
  ],
  [
    'a slice of it, fixed point',
    () => torch.arange(2000).float().reshape(40, 50).mul(0.5).index(':3', ':3'),
    'tensor([[ 0.0000,  0.5000,  1.0000],\n        [25.0000, 25.5000, 26.0000],\n        [50.0000, 50.5000, 51.0000]])',
  ],
  ['bool', () => torch.tensor([true, false, true]), 'tensor([ True, False,  True])'],
  [
    'bool through a broadcast view',
    () => torch.tensor([true]).expand(3, 4),
    'tensor([[True, True, True, True],\n        [True, True, True, True],\n        [True, True, True, True]])',
  ],
  ['int32 has a dtype suffix', () => torch.tensor([1, -2, 3], { dtype: torch.int32 }), 'tensor([ 1, -2,  3], dtype=torch.int32)'],
  ['an int32 sum is int64, as in torch', () => torch.ones(2, 3, { dtype: torch.int32 }).sum(1), 'tensor([3, 3])'],
  ['int32 sum kept in int32', () => torch.ones(2, 3, { dtype: torch.int32 }).sum(1, false, { dtype: torch.int32 }), 'tensor([3, 3], dtype=torch.int32)'],
  ['int8', () => torch.tensor([1, 2], { dtype: torch.int8 }), 'tensor([1, 2], dtype=torch.int8)'],
  ['uint8', () => torch.tensor([1, 2], { dtype: torch.uint8 }), 'tensor([1, 2], dtype=torch.uint8)'],
  ['float64 has a dtype suffix', () => torch.tensor([1.5, 2.25], { dtype: torch.float64 }), 'tensor([1.5000, 2.2500], dtype=torch.float64)'],
  ['integral float64', () => torch.tensor([1, 2], { dtype: torch.float64 }), 'tensor([1., 2.], dtype=torch.float64)'],
  ['0-d float', () => torch.tensor(3.5), 'tensor(3.5000)'],
  ['0-d float from a reduction', () => torch.tensor([1e-8, 1]).sum(), 'tensor(1.)'],
  ['0-d int64', () => torch.tensor(7), 'tensor(7)'],
  ['0-d bool', () => torch.tensor(true), 'tensor(True)'],
  ['0-d float64', () => torch.tensor(2.5, { dtype: torch.float64 }), 'tensor(2.5000, dtype=torch.float64)'],
  ['empty', () => torch.zeros(0), 'tensor([])'],
  ['empty 2-d shows its size', () => torch.zeros(2, 0), 'tensor([], size=(2, 0))'],
  ['empty int64', () => torch.tensor([], { dtype: torch.long }), 'tensor([], dtype=torch.int64)'],
  ['empty 2-d int64', () => torch.zeros(2, 0, { dtype: torch.long }), 'tensor([], size=(2, 0), dtype=torch.int64)'],
  ['nan and infinities', () => torch.tensor([NaN, Infinity, -Infinity, 1.0]), 'tensor([nan, inf, -inf, 1.])'],
  ['negative values pad the column', () => torch.tensor([-1.5, 2.0]), 'tensor([-1.5000,  2.0000])'],
  [
    '3-d int64 blocks are separated by a blank line',
    () => torch.arange(24).reshape(2, 3, 4),
    'tensor([[[ 0,  1,  2,  3],\n         [ 4,  5,  6,  7],\n         [ 8,  9, 10, 11]],\n\n        [[12, 13, 14, 15],\n         [16, 17, 18, 19],\n         [20, 21, 22, 23]]])',
  ],
  ['requires_grad after the dtype', () => torch.tensor([1, 2], { dtype: torch.float64, requiresGrad: true }), 'tensor([1., 2.], dtype=torch.float64, requires_grad=True)'],
  [
    'grad_fn after the dtype',
    () => torch.tensor([1, 2], { dtype: torch.float64, requiresGrad: true }).mul(2),
    'tensor([2., 4.], dtype=torch.float64, grad_fn=<MulBackward0>)',
  ],
  ['empty that requires grad', () => torch.zeros(0, { requiresGrad: true }), 'tensor([], requires_grad=True)'],
];

describe('printing through the real pipeline matches torch', () => {
  it.each(CASES)('%s', (_name, make, expected) => {
    const t = make();
    expect(t.toString()).toBe(expected);
    expect(inspect(t)).toBe(expected);
  });

  it('toStringAsync prints the same', async () => {
    const t = torch.arange(2000);
    expect(await t.toStringAsync()).toBe(t.toString());
  });
});
