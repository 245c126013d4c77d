/** Runs the optimizer golden cases (packages/nn/fixtures/train-optim.json) on a device. */
import { readFileSync } from 'node:fs';
import * as torch from '@fusor/tensor';
import { optim } from '../src/index.js';
import type { Optimizer, ParamGroup } from '../src/optim/index.js';

export interface OptimCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  options: Record<string, unknown>;
  groups: Record<string, unknown>[] | null;
  missing: [number, number] | null;
  shapes: number[][];
  init: number[][];
  grads: number[][][];
  trajectory: number[][][];
  state: Record<string, Record<string, number | number[] | null>>;
  param_groups: Record<string, unknown>[];
}

export const optimCases = (JSON.parse(readFileSync(new URL('../fixtures/train-optim.json', import.meta.url), 'utf8')) as { cases: OptimCase[] }).cases;

const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

export function makeOptimizer(c: OptimCase, params: torch.Tensor[]): Optimizer<ParamGroup> {
  const Cls = optim[c.optimizer] as unknown as new (p: unknown, o: Record<string, unknown>) => Optimizer<ParamGroup>;
  const spec = c.groups ? params.map((p, i) => ({ params: [p], ...camelKeys(c.groups![i]!) })) : params;
  return new Cls(spec, camelKeys(c.options));
}

/** The case's parameters on `device`, with float32 data from the fixture. */
export const makeParams = (c: OptimCase, device: string): torch.Tensor[] =>
  c.init.map((v, i) => torch.tensor(Float32Array.from(v), { device }).reshape(c.shapes[i]!).detach().requiresGrad_());

/** Runs `steps` steps with the fixture's gradients; returns the parameters after each. */
export async function runCase(c: OptimCase, device: string, steps = c.trajectory.length): Promise<number[][][]> {
  const params = makeParams(c, device);
  const opt = makeOptimizer(c, params);
  const out: number[][][] = [];
  for (let k = 0; k < steps; k++) {
    params.forEach((p, i) => {
      p.grad = c.missing?.[0] === k && c.missing[1] === i ? null : torch.tensor(Float32Array.from(c.grads[k]![i]!), { device }).reshape(c.shapes[i]!);
    });
    opt.step();
    const row: number[][] = [];
    for (const p of params) row.push(Array.from((await p.data()) as Float32Array));
    out.push(row);
  }
  return out;
}

/** |a - b| ≤ atol + rtol·|b| elementwise; returns the first violation, or null. */
export function firstMismatch(actual: readonly number[], expected: readonly number[], rtol = 1e-5, atol = 1e-6): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} vs ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return `element ${i}: ${a} vs ${e}`;
  }
  return null;
}
