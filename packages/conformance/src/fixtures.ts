/**
 * The golden cases, as scripts/gen_golden.py writes them from PyTorch into fixtures/*.json.
 * One case: an op name (a key of OPS in ops.ts), its inputs, its JSON arguments, and either
 * PyTorch's outputs (with gradients for differentiable cases) or PyTorch's error message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { DType } from '@fusor/ir';

/** A number as the fixtures write it: the values JSON cannot hold are strings. */
export type Encoded = number | 'nan' | 'inf' | '-inf' | '-0';

export interface TensorData {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Row-major values; absent where PyTorch leaves them unspecified (`empty`). */
  readonly data?: readonly Encoded[];
}

export interface TensorInput extends TensorData {
  readonly data: readonly Encoded[];
  /** The op sees a view of the stored base: its transpose of the last two dims, or base[..., ::2]. */
  readonly view?: 'T' | 'step';
}

export type InputSpec = TensorInput | { readonly scalar: number | boolean };

export interface GradData {
  /** Per output, the weight w of loss = Σ (out · w).sum() (null for outputs without gradient). */
  readonly w: readonly (TensorData | null)[];
  /** Per input, the gradient of its base (null where PyTorch gives none). */
  readonly inputs: readonly (TensorData | null)[];
}

export interface Case {
  /** `op/variant`, unique across all fixtures. */
  readonly id: string;
  readonly op: string;
  /** The fixture file it came from: creation, elementwise, reduce, shape, linalg, errors. */
  readonly category: string;
  readonly inputs: readonly InputSpec[];
  readonly args?: Readonly<Record<string, unknown>>;
  /** The op returns a list of tensors (split, max with dim…). */
  readonly multi?: boolean;
  readonly outputs?: readonly TensorData[];
  readonly grad?: GradData;
  /** PyTorch's message for this bad input. */
  readonly error?: string;
}

export interface FixtureFile {
  readonly category: string;
  /** The PyTorch version that produced the values. */
  readonly torch: string;
  readonly cases: readonly Case[];
}

const SPECIAL: Readonly<Record<string, number>> = { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 };

export function decode(v: Encoded): number {
  return typeof v === 'number' ? v : SPECIAL[v]!;
}

export const decodeAll = (data: readonly Encoded[]): number[] => data.map(decode);

/** Arguments with their encoded special numbers turned back into numbers. */
export function decodeArgs(args: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args ?? {})) out[k] = typeof v === 'string' && v in SPECIAL ? SPECIAL[v] : v;
  return out;
}

export const isScalar = (s: InputSpec): s is { readonly scalar: number | boolean } => 'scalar' in s;

/** Where the committed fixtures live (next to src/ and dist/). */
export const FIXTURE_DIR = new URL('../fixtures/', import.meta.url);

/** Reads every fixture file (Node). Browser runners import the JSON themselves and pass it in. */
export function loadFixtures(dir: URL = FIXTURE_DIR): FixtureFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseFixture(f.replace(/\.json$/, ''), readFileSync(new URL(f, dir), 'utf8')));
}

export function parseFixture(category: string, text: string): FixtureFile {
  const raw = JSON.parse(text) as { torch: string; cases: Omit<Case, 'category'>[] };
  return { category, torch: raw.torch, cases: raw.cases.map((c) => ({ ...c, category })) };
}
