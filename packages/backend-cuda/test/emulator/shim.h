// CUDA C on the host, for the emulator: just enough of the device language that fusor's
// generated kernels compile with g++ and run one "thread" at a time.
#include <math.h>
#include <string.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
struct fu_dim3 { unsigned x, y, z; };
static fu_dim3 threadIdx, blockIdx, blockDim, gridDim;
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline long long __double_as_longlong(double d) { long long i; memcpy(&i, &d, 8); return i; }
static inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
