/** Device arguments of the parallel modules: PyTorch accepts cuda ordinals, strings and torch.device objects. */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import type { Module } from '../module.js';

/** A device as the parallel modules take it: 'cuda:1', torch.device('webgpu'), or a cuda ordinal (1 → 'cuda:1'), as PyTorch's device_ids. */
export type ParallelDevice = torch.DeviceLike | number;

/** The canonical form tensors report ('cpu', 'cuda:0', 'webgpu:0'), so devices compare as strings. */
export function canonical(d: ParallelDevice, who: string): string {
  const s = typeof d === 'number' ? (Number.isInteger(d) && d >= 0 ? `cuda:${d}` : '') : d instanceof torch.Device ? d.toString() : d;
  const m = /^([a-z]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new TypeError(`${who}: invalid device ${typeof d === 'number' ? d : `'${s}'`}`);
  return m[1] === 'cpu' ? 'cpu' : `${m[1]}:${m[2] ?? 0}`;
}

/** A non-empty list of devices, canonical, without repeats. */
export function deviceList(ds: readonly ParallelDevice[] | undefined, who: string, what = 'devices'): string[] {
  if (!Array.isArray(ds) || ds.length === 0) throw new TypeError(`${who}: ${what} must be a non-empty array of devices`);
  const out = ds.map((d) => canonical(d, who));
  const dup = out.find((d, i) => out.indexOf(d) !== i);
  if (dup !== undefined) throw new TypeError(`${who}: device ${dup} is listed twice in ${what}`);
  return out;
}

/** The device of a module's first parameter or buffer (undefined for a module without either). */
export function moduleDevice(m: Module<unknown[], unknown>): string | undefined {
  for (const p of m.parameters()) return p.device;
  for (const b of m.buffers()) return b.device;
  return undefined;
}

/** `n` split as evenly as possible, the first parts one larger (torch.tensor_split's sizes). */
export function evenSizes(total: number, parts: number): number[] {
  const q = Math.floor(total / parts);
  const r = total % parts;
  return Array.from({ length: parts }, (_, i) => q + (i < r ? 1 : 0));
}

export const isTensor = (v: unknown): v is Tensor => v instanceof torch.Tensor;
