/** saveFile / loadFile for Node (node:fs is loaded on first use, so browsers can bundle the rest). */
import type { Tensor } from '@fusor/tensor';
import { load, saveAsync, type LoadOptions, type Metadata } from './format.js';

/** Writes tensors to a .safetensors file. */
export async function saveFile(tensors: Record<string, Tensor>, filename: string, metadata?: Metadata | null): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(filename, await saveAsync(tensors, metadata));
}

/** Reads a .safetensors file (onto `device`, default cpu). */
export async function loadFile(filename: string, opts: LoadOptions = {}): Promise<Record<string, Tensor>> {
  const { readFile } = await import('node:fs/promises');
  const buf = await readFile(filename);
  return load(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), opts);
}
