/**
 * The CUDA driver API (`libcuda.so.1`) through koffi: one table of prototypes, and a wrapper that
 * turns every non-zero CUresult into a CudaError named as the driver names it.
 */
import { bindAll, loadFirst, type CFunction } from './ffi.js';

/** The driver functions fusor calls (the _v2 entry points are the current ABI). */
const DRIVER_API = {
  cuInit: 'int cuInit(unsigned int flags)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *version)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int device)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *value, int attribute, int device)',
  cuDeviceTotalMem_v2: 'int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int device)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int device)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuCtxSynchronize: 'int cuCtxSynchronize()',
  cuMemAlloc_v2: 'int cuMemAlloc_v2(_Out_ uint64_t *dptr, size_t bytes)',
  cuMemFree_v2: 'int cuMemFree_v2(uint64_t dptr)',
  cuMemGetInfo_v2: 'int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)',
  cuMemcpyHtoD_v2: 'int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)',
  cuMemcpyDtoH_v2: 'int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes)',
  cuMemcpyDtoD_v2: 'int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes)',
  cuMemcpyPeer: 'int cuMemcpyPeer(uint64_t dst, void *dstCtx, uint64_t src, void *srcCtx, size_t bytes)',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const void *image)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
  cuLaunchKernel:
    'int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int sharedBytes, void *stream, void **params, void **extra)',
  cuEventCreate: 'int cuEventCreate(_Out_ void **event, unsigned int flags)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventSynchronize: 'int cuEventSynchronize(void *event)',
  cuEventElapsedTime: 'int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)',
  cuEventDestroy_v2: 'int cuEventDestroy_v2(void *event)',
  cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **name)',
  cuGetErrorString: 'int cuGetErrorString(int error, _Out_ const char **text)',
} as const;

type DriverFn = keyof typeof DRIVER_API;

/** Device attributes fusor reads (values of CUdevice_attribute). */
export const ATTRIBUTE = {
  multiprocessorCount: 16,
  computeCapabilityMajor: 75,
  computeCapabilityMinor: 76,
} as const;

export const CUDA_ERROR_OUT_OF_MEMORY = 2;
export const CUDA_ERROR_NO_DEVICE = 100;

/** A failed driver or NVRTC call, with the library's own name for the error. */
export class CudaError extends Error {
  override name = 'CudaError';
  constructor(
    message: string,
    /** The CUresult / nvrtcResult code. */
    readonly code: number,
  ) {
    super(message);
  }
}

export interface Driver {
  readonly path: string;
  readonly fn: Record<DriverFn, CFunction>;
  /** Calls a driver function and throws a CudaError unless it returns CUDA_SUCCESS. */
  call(name: DriverFn, ...args: unknown[]): void;
  /** Calls a driver function and returns its CUresult (for callers that handle failures). */
  try(name: DriverFn, ...args: unknown[]): number;
  errorName(code: number): string;
}

/** Opens libcuda; a string says why it could not. */
export function openDriver(candidates: readonly string[]): Driver | string {
  const opened = loadFirst(candidates);
  if ('failure' in opened) {
    return `libcuda.so.1 (the NVIDIA driver library) could not be loaded (${opened.failure}). Install the NVIDIA driver, or set FUSOR_LIBCUDA_PATH to the library file`;
  }
  let fn: Record<DriverFn, CFunction>;
  try {
    fn = bindAll(opened.lib, DRIVER_API);
  } catch (e) {
    return `${opened.path} lacks a driver function fusor needs (${(e as Error).message}); the driver is too old`;
  }
  const errorName = (code: number): string => {
    const name: [string | null] = [null];
    const text: [string | null] = [null];
    fn.cuGetErrorName(code, name);
    fn.cuGetErrorString(code, text);
    return name[0] ? `${name[0]}${text[0] ? ` (${text[0]})` : ''}` : `CUresult ${code}`;
  };
  const driver: Driver = {
    path: opened.path,
    fn,
    errorName,
    try: (name, ...args) => fn[name](...args) as number,
    call(name, ...args) {
      const code = fn[name](...args) as number;
      if (code !== 0) throw new CudaError(`${name} failed: ${errorName(code)}`, code);
    },
  };
  return driver;
}

