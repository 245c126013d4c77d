/**
 * The cpu backend: the embedded default. Kernels are rendered to JavaScript and run
 * synchronously on the host; buffers are typed arrays.
 */
import { hostArray, type DType, type HostArray } from '@fusor/ir';
import { registerBackend, type Backend, type BackendBuffer, type Kernel } from '@fusor/compiler';
import { PRELUDE, renderJs } from './render-js.js';

export { renderJs, renderExpr } from './render-js.js';

type Storage = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface CpuBuffer extends BackendBuffer {
  readonly data: Storage;
}

type CpuProgram = (...args: unknown[]) => void;

/** Typed-array storage per dtype. int64 is held in float64 (exact within ±2^53). */
function storage(dtype: DType, size: number): Storage {
  switch (dtype) {
    case 'int64':
    case 'float64':
      return new Float64Array(size);
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'int16':
      return new Int16Array(size);
    case 'int8':
      return new Int8Array(size);
    case 'bool':
    case 'uint8':
      return new Uint8Array(size);
    default:
      throw new TypeError(`the cpu backend does not support ${dtype}`);
  }
}

export const cpuBackend: Backend<CpuBuffer, CpuProgram> = {
  name: 'cpu',
  capabilities: {
    dtypes: ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64'],
    maxBuffers: Infinity,
    syncRead: true,
    fp16: false,
  },
  isAvailable: () => ({ ok: true }),
  init: () => Promise.resolve('cpu (JavaScript kernels)'),
  alloc: (dtype, size) => ({ dtype, size, data: storage(dtype, size) }),
  free: () => {},
  write(buf, data) {
    if (data instanceof BigInt64Array) {
      const d = buf.data;
      for (let i = 0; i < data.length; i++) d[i] = Number(data[i]!);
    } else {
      buf.data.set(data as ArrayLike<number>);
    }
  },
  readSync(buf): HostArray {
    if (buf.dtype === 'int64') {
      const out = hostArray('int64', buf.size) as BigInt64Array;
      const d = buf.data;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        out[i] = Number.isFinite(v) ? BigInt(v) : 0n;
      }
      return out;
    }
    return buf.data.slice() as HostArray;
  },
  read(buf) {
    return Promise.resolve(this.readSync!(buf));
  },
  render: (kernel: Kernel) => renderJs(kernel),
  compile(source, kernel) {
    const params = kernel.buffers.map((_, i) => `b${i}`);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- rendering to JS is this backend's job
    const factory = new Function(`${PRELUDE}\nreturn function kernel(${params.join(', ')}, v) {\n${source as string}\n};`);
    return factory() as CpuProgram;
  },
  launch(program, buffers, vars) {
    program(...buffers.map((b) => b.data), vars);
  },
  synchronize: () => Promise.resolve(),
};

registerBackend(cpuBackend);
