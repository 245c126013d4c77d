/** The `device`/`dtype` factory options every layer takes, and parameter creation with them. */
import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';
import { Parameter } from '../parameter.js';

export interface FactoryOptions {
  device?: string;
  dtype?: torch.DType;
}
export const FACTORY_KEYS = ['device', 'dtype'] as const;

export function factory(a: Record<string, unknown>): { device?: string; dtype: torch.DType } {
  const dtype = (a['dtype'] as torch.DType | undefined) ?? torch.getDefaultDtype();
  const device = a['device'] as string | undefined;
  return device === undefined ? { dtype } : { device, dtype };
}

/** An uninitialized (zero) parameter of the given shape; the layer's resetParameters fills it. */
export function emptyParam(shape: readonly number[], f: { device?: string; dtype: torch.DType }): Parameter {
  return new Parameter(torch.zeros([...shape], f));
}

export function emptyTensor(shape: readonly number[], f: { device?: string; dtype: torch.DType }): Tensor {
  return torch.zeros([...shape], f);
}
