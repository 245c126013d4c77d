import { describe, expect, it } from 'vitest';
import { cpuBackend } from '@fusor/backend-cpu';
import * as torch from '../src/index.js';

// Messages are torch 1.13's wording where torch has one (checked with python3 -c ...).

/** The error `f` throws (fails the test when it does not throw). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('bad input raises PyTorch’s error at the call', () => {
  it('broadcast shape mismatch', () => {
    const e = thrown(() => torch.ones(3).add(torch.ones(4)));
    expect(e).toBeInstanceOf(torch.ShapeError);
    expect(e.message).toBe('The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0');
    expect(() => torch.ones(2, 3).mul(torch.ones(3, 2))).toThrow(
      'The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1',
    );
  });

  it('matmul shape mismatch', () => {
    const e = thrown(() => torch.ones(4, 3).matmul(torch.ones(4, 3)));
    expect(e).toBeInstanceOf(torch.ShapeError);
    expect(e.message).toBe('mat1 and mat2 shapes cannot be multiplied (4x3 and 4x3)');
    expect(() => torch.ones(2, 3).mm(torch.ones(2, 3))).toThrow('mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)');
    expect(() => torch.ones(3).matmul(torch.ones(4))).toThrow(
      'inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and 4 elements respectively',
    );
  });

  it('reshape to an incompatible size', () => {
    const e = thrown(() => torch.ones(12).reshape(5));
    expect(e).toBeInstanceOf(torch.ShapeError);
    expect(e.message).toBe("shape '[5]' is invalid for input of size 12");
    expect(() => torch.ones(12).view(5, -1)).toThrow("shape '[5, -1]' is invalid for input of size 12");
    expect(() => torch.ones(2, 3).view(-1, -1)).toThrow('only one dimension can be inferred');
    expect(() => torch.ones(2, 2).view(-2, 2)).toThrow('invalid shape dimension -2');
  });

  it('unknown dtypes, and dtypes the backend cannot hold', () => {
    const e = thrown(() => torch.ones(3, { dtype: 'float17' }));
    expect(e).toBeInstanceOf(torch.DTypeError);
    expect(e.message).toMatch(/^unknown dtype "float17"; expected one of .*float32/);
    const f = thrown(() => torch.ones(2, 2, { dtype: 'float16' }));
    expect(f).toBeInstanceOf(torch.DTypeError);
    expect(f.message).toBe('float16 is not supported by the cpu backend (supported: bool, uint8, int8, int16, int32, int64, float32, float64)');
    expect(() => torch.ones(3).to('float17')).toThrow(/float17/);
  });

  it('dims out of range', () => {
    const e = thrown(() => torch.ones(2, 3).sum(2));
    expect(e.message).toBe('Dimension out of range (expected to be in range of [-2, 1], but got 2)');
    expect(() => torch.ones(2, 3).sum(-3)).toThrow('Dimension out of range (expected to be in range of [-2, 1], but got -3)');
    expect(() => torch.ones(2, 3).transpose(0, 2)).toThrow('Dimension out of range (expected to be in range of [-2, 1], but got 2)');
    expect(() => torch.ones(2, 3).softmax(2)).toThrow('Dimension out of range (expected to be in range of [-2, 1], but got 2)');
    expect(() => torch.ones(2, 3).unsqueeze(3)).toThrow('Dimension out of range (expected to be in range of [-3, 2], but got 3)');
    expect(() => torch.ones(2, 3).size(2)).toThrow('Dimension out of range (expected to be in range of [-2, 1], but got 2)');
  });

  it('non-integer and negative sizes', () => {
    // torch 2.x wording (1.13 says "tuple of SymInts" and counts positions from 1)
    const e = thrown(() => torch.ones(2.5, 3));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain("argument 'size' must be tuple of ints, but found element of type float at pos 0");
    expect(() => torch.zeros([2, 3.5])).toThrow("argument 'size' must be tuple of ints, but found element of type float at pos 1");
    expect(() => torch.ones(-1, 3)).toThrow('Trying to create tensor with negative dimension -1: [-1, 3]');
    expect(() => torch.rand(2, -4)).toThrow('Trying to create tensor with negative dimension -4: [2, -4]');
  });

  it('ragged nested arrays', () => {
    const e = thrown(() => torch.tensor([[1, 2, 3], [4, 5]]));
    expect(e.message).toBe('expected sequence of length 3 at dim 1 (got 2)');
    expect(() => torch.tensor([[[1], [2]], [[3]]])).toThrow('expected sequence of length 2 at dim 1 (got 1)');
  });

  it('expand and permute with the wrong sizes', () => {
    expect(() => torch.ones(2, 3).expand(3, 3)).toThrow(
      'The expanded size of the tensor (3) must match the existing size (2) at non-singleton dimension 0.  Target sizes: [3, 3].  Tensor sizes: [2, 3]',
    );
    expect(() => torch.ones(2, 3).permute(0)).toThrow(
      'number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 1',
    );
    expect(() => torch.arange(0, 10, 0)).toThrow('step must be nonzero');
    expect(() => torch.cat([torch.ones(2, 3), torch.ones(2, 4)])).toThrow(
      'Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor number 1 in the list.',
    );
  });

  it('backward of a non-scalar without a gradient', () => {
    const x = torch.ones(2, 2, { requiresGrad: true });
    const y = x.mul(2);
    const e = thrown(() => y.backward());
    expect(e).toBeInstanceOf(torch.AutogradError);
    expect(e.message).toBe('grad can be implicitly created only for scalar outputs');
    expect(x.grad).toBeNull();
    // the graph is still usable: the failed call freed nothing
    y.sum().backward();
    expect(x.grad!.toString()).toBe('tensor([[2., 2.],\n        [2., 2.]])');
  });

  it('backward of a tensor that does not require grad', () => {
    expect(() => torch.ones(2, 2).sum().backward()).toThrow('element 0 of tensors does not require grad and does not have a grad_fn');
  });

  it('backward through a freed graph', () => {
    const x = torch.ones(2, 2, { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(/^Trying to backward through the graph a second time/);
    expect(x.grad!.tolistSync()).toEqual([[2, 2], [2, 2]]);
  });

  it('in-place on a leaf that requires grad', () => {
    const x = torch.ones(2, 2, { requiresGrad: true });
    const e = thrown(() => x.add_(1));
    expect(e).toBeInstanceOf(torch.AutogradError);
    expect(e.message).toBe('a leaf Variable that requires grad is being used in an in-place operation.');
    expect(x.toString()).toBe('tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)');
    // allowed under noGrad, as in PyTorch
    torch.noGrad(() => x.mul_(3));
    expect(x.toString()).toBe('tensor([[3., 3.],\n        [3., 3.]], requires_grad=True)');
  });

  it('only floating tensors can require grad', () => {
    expect(() => torch.ones(2, 2, { dtype: torch.long }).requiresGrad_()).toThrow('only Tensors of floating point dtype can require gradients');
  });

  it('in-place results that do not fit the tensor', () => {
    const x = torch.tensor([1, 2, 3]);
    expect(() => x.add_(1.5)).toThrow("result type Float can't be cast to the desired output type Long");
    expect(() => torch.ones(2, 3).add_(torch.ones(4, 2, 3))).toThrow("output with shape [2, 3] doesn't match the broadcast shape [4, 2, 3]");
    expect(x.tolistSync()).toEqual([1, 2, 3]);
  });

  it('item of a tensor with more than one element', () => {
    expect(() => torch.ones(3).itemSync()).toThrow(/3 elements/);
  });

  it('devices without a backend say how to get one', () => {
    const e = thrown(() => torch.ones(2).to('webgpu'));
    expect(e).toBeInstanceOf(torch.BackendUnavailableError);
    expect(e.message).toBe("no backend registered for device 'webgpu:0'; import '@fusor/backend-webgpu' to register it (registered: cpu)");
    expect(() => torch.ones(2, { device: 'cuda' })).toThrow("import '@fusor/backend-cuda'");
  });

  it('mixed devices raise PyTorch’s error, except for a 0-d cpu tensor', () => {
    // a second device: the cpu backend registered under another name
    torch.registerBackend({ ...cpuBackend, name: 'spare' });
    const a = torch.tensor([1, 1, 1], { dtype: torch.float32, device: 'spare' });
    expect(a.device).toBe('spare:0');
    const e = thrown(() => a.add(torch.ones(3)));
    expect(e).toBeInstanceOf(torch.DeviceMismatchError);
    expect(e.message).toBe('Expected all tensors to be on the same device, but found at least two devices, spare:0 and cpu!');
    expect(() => torch.ones(3).mul(a)).toThrow('Expected all tensors to be on the same device, but found at least two devices, cpu and spare:0!');
    expect(a.add(torch.tensor(2)).tolistSync()).toEqual([3, 3, 3]);
    expect(a.add(torch.tensor(2)).device).toBe('spare:0');
    // an explicit copy makes it legal
    const b = a.to('cpu').add(torch.ones(3));
    expect(b.device).toBe('cpu');
    expect(torch.explain(b).kernels.map((x) => `${x.kind} on ${x.device}`)).toEqual(['copy on cpu', 'kernel on cpu']);
    expect(b.tolistSync()).toEqual([2, 2, 2]);
  });
});

describe('nothing is corrupted after an error', () => {
  it('tensors still read correctly and later ops still work', () => {
    const x = torch.tensor([[1.5, 2], [3, 4]]);
    const lazy = x.mul(2);
    const failures: (() => unknown)[] = [
      () => x.add(torch.ones(3)),
      () => x.matmul(torch.ones(3, 2)),
      () => x.reshape(3),
      () => x.sum(5),
      () => lazy.add(torch.ones(5)),
      () => x.add_(torch.ones(3)),
      () => x.backward(),
    ];
    for (const f of failures) expect(f).toThrow();
    expect(x.tolistSync()).toEqual([[1.5, 2], [3, 4]]);
    expect(lazy.tolistSync()).toEqual([[3, 4], [6, 8]]);
    expect(x.matmul(x).tolistSync()).toEqual([[8.25, 11], [16.5, 22]]);
    expect(x.add(torch.ones(2)).sum().itemSync()).toBe(14.5);
  });
});

describe('options objects are read, never misread', () => {
  const x = torch.tensor([[3, 1, 2], [0, 5, 4]], { dtype: torch.float32 });
  const p = torch.tensor([0.1, 0.2, 0.7]);
  // every function here took an options object without looking at its keys or value types
  const cases: [string, () => unknown, string][] = [
    ['sort, a string for a bool', () => x.sort({ descending: 'no' as unknown as boolean }), "sort(): argument 'descending' must be bool, not str"],
    ['sort, an unknown key', () => x.sort(1, { bogus: 1 } as object), "sort() got an unexpected keyword argument 'bogus'"],
    ['argsort, an int for a bool', () => x.argsort({ stable: 1 as unknown as boolean }), "sort(): argument 'stable' must be bool, not int"],
    ['topk, an int for a bool', () => x.topk(2, { largest: 3 as unknown as boolean }), "topk(): argument 'largest' must be bool, not int"],
    ['topk, a string dim', () => x.topk(2, 'a' as unknown as number), "topk(): argument 'dim' (position 1) must be int, not str"],
    ['arange, an unknown key', () => torch.arange(5, { bogus: 1 } as object), "arange() got an unexpected keyword argument 'bogus'"],
    ['linspace, an unknown key', () => torch.linspace(0, 1, 3, { dim: 0 } as object), "linspace() got an unexpected keyword argument 'dim'"],
    ['eye, a string for requiresGrad', () => torch.eye(2, { requiresGrad: 'yes' as unknown as boolean }), "eye(): argument 'requires_grad' must be bool, not str"],
    ['randint, an unknown key', () => torch.randint(0, 5, [2], { low: 1 } as object), "randint() got an unexpected keyword argument 'low'"],
    ['multinomial, an options object read as replacement', () => torch.multinomial(p, 5, { replacement: false }), 'cannot sample n_sample > prob_dist.size(-1) samples without replacement'],
    ['multinomial, a string for a bool', () => torch.multinomial(p, 2, 'x' as unknown as boolean), "multinomial(): argument 'replacement' (position 2) must be bool, not str"],
    ['to, an unknown key', () => x.to({ devices: 'cpu' } as object), "to() got an unexpected keyword argument 'devices'"],
  ];
  for (const [name, f, message] of cases) it(name, () => expect(f).toThrow(message));

  it('the options forms compute what the positional forms do', () => {
    expect(x.sort({ descending: true }).values.tolistSync()).toEqual(x.sort(-1, true).values.tolistSync());
    expect(x.argsort({ dim: 0, descending: true }).tolistSync()).toEqual(x.argsort(0, true).tolistSync());
    expect(x.topk(1, { largest: false }).values.tolistSync()).toEqual([[1], [0]]);
    expect(x.topk(2, 0, false, true).values.tolistSync()).toEqual([
      [0, 1, 2],
      [3, 5, 4],
    ]);
    torch.manualSeed(0);
    expect(torch.multinomial(p, 5, { replacement: true }).shape).toEqual([5]);
  });
});
