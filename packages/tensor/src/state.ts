/** Process-wide frontend state: grad mode, default device and dtype, the random generator's position. */
import { canonicalDevice } from '@fusor/compiler';
import { getBackend } from '@fusor/runtime';
import { isFloat, parseDType, type DType } from '@fusor/ir';
import { deviceString, type DeviceLike } from './device.js';

export const state = {
  gradEnabled: true,
  defaultDevice: 'cpu',
  defaultDtype: 'float32' as DType,
  seed: 0,
  /** Counter of random numbers drawn since the last manualSeed. */
  offset: 0,
};

export const isGradEnabled = (): boolean => state.gradEnabled;

/** Seeds the counter-based generator: the same seed gives the same numbers on every backend. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new TypeError(`manualSeed expects an integer, got ${seed}`);
  state.seed = seed >>> 0;
  state.offset = 0;
}

export const initialSeed = (): number => state.seed;

/** Reserves `n` consecutive random counters. */
export function drawOffset(n: number): number {
  const o = state.offset;
  state.offset += n;
  return o;
}

export function setDefaultDevice(device: DeviceLike): void {
  state.defaultDevice = resolveDevice(device);
}

export function setDefaultDtype(dtype: DType | string): void {
  const d = parseDType(dtype);
  if (!isFloat(d)) throw new TypeError(`only floating-point types are supported as the default type, got ${d}`);
  state.defaultDtype = d;
}

export const getDefaultDtype = (): DType => state.defaultDtype;

/** Canonical device name ('cuda' → 'cuda:0'); fails if no backend is registered for it. */
export function resolveDevice(device: DeviceLike | undefined): string {
  const d = canonicalDevice(device === undefined ? state.defaultDevice : deviceString(device));
  getBackend(d);
  return d;
}
