/**
 * koffi, loaded on first use (as backend-cuda does): importing @fusor/distributed must work on
 * machines without the native module or without MPI, and say why at initProcessGroup.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

export type KoffiModule = typeof Koffi;
export type LibraryHandle = Koffi.LibraryHandle;
/** A bound C function: arguments and results are numbers, bigints, buffers or typed arrays. */
export type CFunction = (...args: unknown[]) => unknown;

let koffi: KoffiModule | undefined;

export function loadKoffi(): KoffiModule {
  if (!koffi) {
    const require = createRequire(import.meta.url);
    koffi = require('koffi') as KoffiModule;
  }
  return koffi;
}

/** Binds every prototype of a table. */
export function bindAll<K extends string>(lib: LibraryHandle, table: Readonly<Record<K, string>>): Record<K, CFunction> {
  const out = {} as Record<K, CFunction>;
  for (const name of Object.keys(table) as K[]) out[name] = lib.func(table[name]) as unknown as CFunction;
  return out;
}

/**
 * Loads the first library that opens; otherwise says which were tried and why they failed.
 * `global` makes its symbols visible to libraries it loads itself (OpenMPI's plugins need that).
 */
export function loadFirst(files: readonly string[], global = false): { lib: LibraryHandle; path: string } | { failure: string } {
  const k = loadKoffi();
  const reasons = new Set<string>();
  for (const f of files) {
    try {
      return { lib: k.load(f, { global }), path: f };
    } catch (e) {
      reasons.add((e as Error).message.replace(/^Failed to load shared library: /, ''));
    }
  }
  return { failure: `tried ${files.join(', ')}: ${[...reasons].join('; ')}` };
}

/** A pointer value as a bigint (koffi gives numbers, bigints or external pointers). */
export function addressOf(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  return loadKoffi().address(v);
}
