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

  it('the input gradient is a gemm and one gathering kernel (col2im reads an inverse table, no scatter)', () => {
    const x = fresh(2, 16, 16, 16).requiresGrad_();
    const w = fresh(32, 16, 3, 3).requiresGrad_();
    const g = fresh(2, 32, 8, 8);
    const [gx] = torch.autograd.grad([torch.conv2d(x, w, null, 2, 1).mul(g).sum()], [x], { createGraph: true });
    const kernels = torch.explain(gx!, { ir: false }).kernels;
    expect(kernels.map((k) => k.routine ?? 'generated')).toEqual(['gemm', 'generated']);
    expect(kernels[1]!.ops).toContain('GATHER');
    expect(kernels.flatMap((k) => k.ops)).not.toContain('SCATTER');
    // the inverse table: for each of the 9 kernel offsets and 256 input positions, the window reading it
    expect(kernels[1]!.inputs).toEqual(['int32[2304]', 'float32[2, 1, 1, 144, 64]']);
  });

  it('convTranspose2d reads its strided input through the window table: one gather, one gemm', () => {
    const y = torch.convTranspose2d(fresh(2, 8, 5, 5), fresh(8, 4, 3, 3), null, 2, 1, 1);
    expect(y.shape).toEqual([2, 4, 10, 10]);
    const kernels = torch.explain(y, { ir: false }).kernels;
    expect(kernels.map((k) => k.routine ?? 'generated')).toEqual(['generated', 'generated', 'gemm']);
    expect(kernels.find((k) => k.ops.includes('GATHER'))!.output).toBe('float32[2, 8, 3, 3, 10, 10]');
  });

  it('maxPool2d backward: the argmax (its window max hoisted into it), a mask kernel and one gathering kernel when windows overlap; argmax and one elementwise kernel, no gather, when they tile', () => {
    for (const [k, s, count, gathers] of [[2, 2, 2, false], [3, 2, 3, true]] as const) {
      const x = fresh(2, 4, 9, 9).requiresGrad_();
      const [gx] = torch.autograd.grad([torch.maxPool2d(x, k, s).mul(2).sum()], [x], { createGraph: true });
      const kernels = torch.explain(gx!, { ir: false }).kernels;
      expect(kernels.length).toBe(count);
      const ops = kernels.flatMap((kk) => kk.ops);
      expect(ops).not.toContain('SCATTER');
      expect(ops.includes('GATHER')).toBe(gathers);
    }
  });

  it('a second step on new inputs of the same shapes compiles nothing: the index tables are constants', () => {
    const step = (): void => {
      const x = fresh(2, 3, 12, 12).requiresGrad_();
      const w = fresh(4, 3, 3, 3).requiresGrad_();
      torch.maxPool2d(torch.conv2d(x, w, null, 1, 1).relu(), 2).mul(fresh(2, 4, 6, 6)).sum().backward();
      x.grad!.dataSync();
      w.grad!.dataSync();
    };
    step();
    const before = torch.compilerStats().compiled;
    step();
    expect(torch.compilerStats().compiled).toBe(before);
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
