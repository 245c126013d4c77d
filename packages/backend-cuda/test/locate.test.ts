/** Where NVRTC and the driver are looked for. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cublasDirs, driverCandidates, locateCublas, locateNvrtc, nvrtcDirs } from '../src/locate.js';

function tree(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'fusor-locate-'));
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

describe('locating NVRTC', () => {
  it('takes FUSOR_NVRTC_PATH alone: a file as given, a directory newest version first', () => {
    expect(locateNvrtc({ FUSOR_NVRTC_PATH: '/x/libnvrtc.so.12' }).files).toEqual(['/x/libnvrtc.so.12']);
    const dir = tree(['libnvrtc.so.12', 'libnvrtc.so.13.0', 'libnvrtc.so', 'libnvrtc-builtins.so.13.0', 'libnvrtc.so.11.2']);
    expect(locateNvrtc({ FUSOR_NVRTC_PATH: dir }).files.map((f) => f.slice(dir.length + 1))).toEqual([
      'libnvrtc.so.13.0',
      'libnvrtc.so.12',
      'libnvrtc.so.11.2',
      'libnvrtc.so',
    ]);
  });

  it("searches a virtualenv's and a toolkit's usual places, and says where it looked", () => {
    const venv = tree(['lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13', 'lib/python3.12/site-packages/torch/lib/libnvrtc-1a2b3c4d.so.12']);
    const cuda = tree(['lib64/libnvrtc.so.12.8']);
    const env = { VIRTUAL_ENV: venv, CUDA_HOME: cuda };
    expect(nvrtcDirs(env)[0]).toBe(join(cuda, 'lib64'));
    const { files, searched } = locateNvrtc(env);
    expect(files.slice(0, 3)).toEqual([
      join(cuda, 'lib64/libnvrtc.so.12.8'),
      join(venv, 'lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13'),
      join(venv, 'lib/python3.12/site-packages/torch/lib/libnvrtc-1a2b3c4d.so.12'),
    ]);
    expect(files.at(-1)).toBe('libnvrtc.so');
    expect(searched.join(' ')).toContain(join(venv, 'lib/python3.12/site-packages/nvidia/cu13/lib'));
    expect(searched[0]).toBe('FUSOR_NVRTC_PATH (unset)');
  });
});

describe('locating cuBLAS', () => {
  it('takes FUSOR_CUBLAS_PATH alone: a file as given, a directory newest version first, never libcublasLt', () => {
    expect(locateCublas({ FUSOR_CUBLAS_PATH: '/x/libcublas.so.13' })).toEqual({ files: ['/x/libcublas.so.13'], searched: ['FUSOR_CUBLAS_PATH=/x/libcublas.so.13'] });
    const dir = tree(['libcublas.so.12', 'libcublas.so.13', 'libcublasLt.so.13', 'libcublas.so.12.8.4.1', 'libcublas.so', 'libcublas_static.a']);
    expect(locateCublas({ FUSOR_CUBLAS_PATH: dir }).files.map((f) => f.slice(dir.length + 1))).toEqual(['libcublas.so.13', 'libcublas.so.12.8.4.1', 'libcublas.so.12', 'libcublas.so']);
  });

  it("searches a toolkit's and PyTorch's wheels' usual places, newest first, and says where it looked", () => {
    const venv = tree([
      'lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13',
      'lib/python3.12/site-packages/nvidia/cu13/lib/libcublasLt.so.13',
      'lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12',
    ]);
    const toolkit = tree(['lib64/libcublas.so.12.8.4.1', 'lib64/libcublasLt.so.12.8.4.1']);
    const env = { VIRTUAL_ENV: venv, CUDA_HOME: toolkit };
    const sp = join(venv, 'lib/python3.12/site-packages');
    expect(cublasDirs(env)[0]).toBe(join(toolkit, 'lib64'));
    expect(cublasDirs(env)).toContain(join(sp, 'nvidia/cublas/lib'));
    expect(cublasDirs(env)).not.toContain(join(sp, 'nvidia/cuda_nvrtc/lib'));
    const { files, searched } = locateCublas(env);
    expect(files.slice(0, 3)).toEqual([join(toolkit, 'lib64/libcublas.so.12.8.4.1'), join(sp, 'nvidia/cublas/lib/libcublas.so.12'), join(sp, 'nvidia/cu13/lib/libcublas.so.13')]);
    expect(files.at(-1)).toBe('libcublas.so');
    expect(searched[0]).toBe('FUSOR_CUBLAS_PATH (unset)');
    expect(searched[1]).toContain('nvidia/cublas/lib, nvidia/cu12|cu13/lib, torch/lib');
    expect(searched.join(' ')).toContain(join(sp, 'nvidia/cu13/lib'));
  });
});

describe('locating the driver', () => {
  it('asks the system loader first, then the usual driver directories; FUSOR_LIBCUDA_PATH alone when set', () => {
    const c = driverCandidates({});
    expect(c[0]).toBe('libcuda.so.1');
    expect(c).toContain('/usr/local/nvidia/lib64/libcuda.so.1');
    expect(driverCandidates({ FUSOR_LIBCUDA_PATH: '/d/libcuda.so.1' })).toEqual(['/d/libcuda.so.1']);
  });
});
