import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

// Values, gradients and error messages of the conv/pool/pad/activation ops are PyTorch golden
// cases in @fusor/conformance (fixtures/nn.json). Here: that a convolution reaches the GEMM
// routine, and the Python-style argument handling.

function fresh(...shape: number[]): torch.Tensor {
  const t = torch.randn(...shape);
  t.dataSync();
  return t;
}

describe('conv2d lowers to im2col + the GEMM routine', () => {
  it('forward: one kernel gathers the columns, the product is one gemm routine call', () => {
    const y = torch.conv2d(fresh(2, 16, 16, 16), fresh(32, 16, 3, 3), null, 1, 1);
    const kernels = torch.explain(y).kernels;
    expect(kernels.map((k) => k.routine ?? 'generated')).toEqual(['generated', 'gemm']);
    expect(kernels[1]!.name).toBe('gemm_2x32x256x144');
    expect(y.shape).toEqual([2, 32, 16, 16]);
  });

  it('backward: the input and the weight gradients are gemm routine calls too', () => {
    const x = fresh(2, 16, 16, 16).requiresGrad_();
    const w = fresh(32, 16, 3, 3).requiresGrad_();
    const y = torch.conv2d(x, w, { padding: 1 });
    y.dataSync();
    const g = fresh(2, 32, 16, 16);
    const loss = y.mul(g).sum();
    loss.dataSync();
    const before = torch.compilerStats();
    loss.backward();
    x.grad!.dataSync();
    w.grad!.dataSync();
    expect(torch.compilerStats().routines - before.routines).toBe(2);
    expect(x.grad!.shape).toEqual([2, 16, 16, 16]);
    expect(w.grad!.shape).toEqual([32, 16, 3, 3]);
  });

  it('a 1×1 convolution needs no column buffer: the product reads the input directly', () => {
    const y = torch.conv2d(fresh(2, 64, 8, 8), fresh(64, 64, 1, 1));
    expect(torch.explain(y).kernels.map((k) => k.routine ?? 'generated')).toEqual(['gemm']);
  });
});

describe('Python-style arguments', () => {
  const x = torch.ones(1, 2, 4, 4);
  const w = torch.ones(3, 2, 3, 3);

  it('positional and named parameters mean the same', () => {
    const a = torch.conv2d(x, w, null, 1, 1).tolistSync();
    expect(torch.conv2d(x, w, { padding: 1 }).tolistSync()).toEqual(a);
    expect(torch.conv2d(x, w, null, { padding: 1, stride: 1 }).tolistSync()).toEqual(a);
    expect(torch.maxPool2d(x, { kernelSize: 2 }).shape).toEqual(torch.maxPool2d(x, 2).shape);
  });

  it('an unknown key, a parameter given twice or a wrong type raises', () => {
    expect(() => torch.conv2d(x, w, { pading: 1 } as torch.ConvOptions)).toThrow("conv2d() got an unexpected keyword argument 'pading'");
    expect(() => torch.conv2d(x, w, null, 1, { stride: 2 })).toThrow("conv2d() got multiple values for argument 'stride'");
    expect(() => torch.conv2d(x, w, null, 1.5)).toThrow("conv2d(): argument 'stride' must be tuple of ints, not float");
    expect(() => torch.maxPool2d(x, {})).toThrow("max_pool2d() missing 1 required positional argument: 'kernel_size'");
    expect(() => torch.functional.gelu(x, { approx: 'tanh' } as torch.GeluOptions)).toThrow("gelu() got an unexpected keyword argument 'approx'");
  });

  it('maxPool2d with returnIndices gives [values, indices]', () => {
    const t = torch.arange(16, { dtype: torch.float32 }).reshape(1, 1, 4, 4);
    const [v, i] = torch.maxPool2d(t, 2, null, 0, 1, false, true);
    expect(v.tolistSync()).toEqual([[[[5, 7], [13, 15]]]]);
    expect(i.dtype).toBe('int64');
    expect(i.tolistSync()).toEqual([[[[5, 7], [13, 15]]]]);
  });

  it('torch.functional groups what nn.functional re-exports', () => {
    expect(Object.keys(torch.functional).sort()).toEqual(
      [
        'adaptiveAvgPool1d', 'adaptiveAvgPool2d', 'adaptiveAvgPool3d', 'avgPool1d', 'avgPool2d', 'avgPool3d', 'conv1d', 'conv2d', 'conv3d',
        'convTranspose1d', 'convTranspose2d', 'convTranspose3d', 'elu', 'erf', 'gelu', 'hardtanh', 'leakyRelu', 'logSoftmax', 'logsigmoid',
        'maxPool1d', 'maxPool2d', 'maxPool3d', 'mish', 'pad', 'relu', 'relu6', 'sigmoid', 'silu', 'softmax', 'softplus', 'tanh', 'unfold',
      ].sort(),
    );
  });
});
