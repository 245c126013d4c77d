/**
 * koffi, loaded on first use: importing the package must work (and register `cuda`) on machines
 * where the native module cannot load, and say why later through `isAvailable()`.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

export type KoffiModule = typeof Koffi;
export type LibraryHandle = Koffi.LibraryHandle;
/** A bound C function: arguments and results are numbers, bigints, strings, buffers or out-arrays. */
export type CFunction = (...args: unknown[]) => unknown;

let koffi: KoffiModule | undefined;

export function loadKoffi(): KoffiModule {
  if (!koffi) {
    const require = createRequire(import.meta.url);
    koffi = require('koffi') as KoffiModule;
  }
  return koffi;
}

/** Binds every prototype of a table; names listed in `optional` may be missing from the library. */
export function bindAll<K extends string>(
  lib: LibraryHandle,
  table: Readonly<Record<K, string>>,
  optional: readonly K[] = [],
): Record<K, CFunction> & Partial<Record<K, CFunction>> {
  const out = {} as Record<K, CFunction>;
  for (const name of Object.keys(table) as K[]) {
    try {
      out[name] = lib.func(table[name]) as unknown as CFunction;
    } catch (e) {
      if (!optional.includes(name)) throw e;
    }
  }
  return out;
}

/** Loads the first library that opens; otherwise says which were tried and why they failed. */
export function loadFirst(files: readonly string[]): { lib: LibraryHandle; path: string } | { failure: string } {
  const k = loadKoffi();
  const reasons = new Set<string>();
  for (const f of files) {
    try {
      return { lib: k.load(f), path: f };
    } catch (e) {
      reasons.add((e as Error).message.replace(/^Failed to load shared library: /, ''));
    }
  }
  return { failure: files.length ? `tried ${files.join(', ')}: ${[...reasons].join('; ')}` : 'no library file there' };
}

/** A pointer value as a bigint (koffi gives numbers or bigints for 64-bit values). */
export const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as number));
