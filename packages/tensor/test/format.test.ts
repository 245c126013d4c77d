import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTensor, getPrintOptions, setPrintOptions, type FormatDType, type PrintOptions } from '../src/format.js';

// Golden strings from torch 1.13's str(t); regenerate with scripts/gen_format_fixtures.py.
interface FixtureCase {
  name: string;
  values: (number | string | boolean)[];
  shape: number[];
  dtype: FormatDType;
  suffixes: string[];
  options?: { precision?: number; threshold?: number; edgeitems?: number; linewidth?: number; sci_mode?: boolean; profile?: 'default' | 'short' | 'full' };
  expected: string;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/format.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

const SPECIAL: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 };

/** Values as a fusor tensor would hand them over: float32 read back through Math.fround. */
function decode(c: FixtureCase): (number | bigint | boolean)[] {
  return c.values.map((v) => {
    if (typeof v === 'boolean') return v;
    if (c.dtype === 'int64') return typeof v === 'string' ? BigInt(v) : v;
    const x = typeof v === 'string' ? SPECIAL[v]! : v;
    return c.dtype === 'float32' ? Math.fround(x) : x;
  });
}

function applyOptions(o: NonNullable<FixtureCase['options']>): void {
  const opts: Partial<PrintOptions> & { profile?: 'default' | 'short' | 'full' } = {};
  if (o.profile !== undefined) opts.profile = o.profile;
  if (o.precision !== undefined) opts.precision = o.precision;
  if (o.threshold !== undefined) opts.threshold = o.threshold;
  if (o.edgeitems !== undefined) opts.edgeitems = o.edgeitems;
  if (o.linewidth !== undefined) opts.linewidth = o.linewidth;
  if (o.sci_mode !== undefined) opts.sciMode = o.sci_mode;
  setPrintOptions(opts);
}

afterEach(() => setPrintOptions({ profile: 'default' }));

describe('formatTensor matches torch 1.13 str(t)', () => {
  it('has fixtures', () => {
    expect(fixtures.cases.length).toBeGreaterThan(80);
  });
  for (const c of fixtures.cases) {
    it(c.name, () => {
      if (c.options) applyOptions(c.options);
      expect(formatTensor(decode(c), c.shape, c.dtype, c.suffixes)).toBe(c.expected);
    });
  }
});

describe('formatTensor inline cases', () => {
  it('indents nested rows under the opening bracket', () => {
    expect(formatTensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [4, 3], 'int64')).toBe(
      'tensor([[0, 0, 0],\n        [0, 0, 0],\n        [0, 0, 0],\n        [0, 0, 0]])',
    );
  });

  it('prints an integral float scalar with its grad_fn', () => {
    expect(formatTensor([3], [], 'float32', ['grad_fn=<MeanBackward0>'])).toBe('tensor(3., grad_fn=<MeanBackward0>)');
  });

  it('widens float32 values before formatting', () => {
    expect(formatTensor(new Float32Array([0.1, 0.2]), [2], 'float32')).toBe('tensor([0.1000, 0.2000])');
  });

  it('accepts typed arrays for int64 and 0/1 for bool', () => {
    expect(formatTensor(new BigInt64Array([-(2n ** 63n), 5n]), [2], 'int64')).toBe('tensor([-9223372036854775808,                    5])');
    expect(formatTensor(new Uint8Array([1, 0]), [2], 'bool')).toBe('tensor([ True, False])');
  });

  it('names non-inferred dtypes and the size of empty tensors', () => {
    expect(formatTensor([1, 2], [2], 'int32')).toBe('tensor([1, 2], dtype=torch.int32)');
    expect(formatTensor([], [0, 3], 'int64')).toBe('tensor([], size=(0, 3), dtype=torch.int64)');
  });

  it('puts a caller device suffix before the derived dtype', () => {
    expect(formatTensor([1.5], [1], 'float64', ["device='cuda:0'", 'requires_grad=True'])).toBe(
      "tensor([1.5000], device='cuda:0', dtype=torch.float64, requires_grad=True)",
    );
  });

  it('resets sciMode on every setPrintOptions call, as torch does', () => {
    setPrintOptions({ sciMode: true });
    expect(getPrintOptions().sciMode).toBe(true);
    setPrintOptions({ precision: 2 });
    expect(getPrintOptions()).toEqual({ precision: 2, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null });
  });
});
