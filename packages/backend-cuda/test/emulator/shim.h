// CUDA C on the host, for the emulator: just enough of the device language that fusor's
// generated kernels compile with g++ and run one "thread" at a time.
// Kernels that cooperate inside a block (__shared__ memory, __syncthreads, warp shuffles) run
// each thread of a block as a fiber (ucontext): a barrier switches back to the launcher, which
// resumes every thread once all of the block (or of the warp, for warp primitives) has reached it.
// Shared memory is a static: blocks run one after another, so one copy serves them all.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict
struct fu_dim3 { unsigned x, y, z; };
static fu_dim3 threadIdx, blockIdx, blockDim, gridDim;
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline long long __double_as_longlong(double d) { long long i; memcpy(&i, &d, 8); return i; }
static inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
static inline int __ldg(const int *p) { return *p; }
static inline float __ldg(const float *p) { return *p; }
static inline double __ldg(const double *p) { return *p; }

// ------------------------------------------------------------------ threads as fibers

enum { FU_RUN = 0, FU_BLOCK_BARRIER = 1, FU_WARP_BARRIER = 2, FU_DONE = 3 };
struct fu_fiber { ucontext_t ctx; int state; };
static ucontext_t fu_scheduler;
static fu_fiber *fu_fibers;
static char *fu_stacks;
static unsigned fu_capacity, fu_current;
static const size_t FU_STACK = 256 * 1024;
/** Per-lane exchange slots for warp shuffles (one warp at a time uses them between barriers). */
static unsigned long long fu_lanes[1024];

/** Waits for the block (kind FU_BLOCK_BARRIER) or this thread's warp (FU_WARP_BARRIER). */
static inline void fu_wait(int kind) {
  if (!fu_fibers) return;  // a kernel launched without fibers has no one to wait for
  fu_fibers[fu_current].state = kind;
  swapcontext(&fu_fibers[fu_current].ctx, &fu_scheduler);
}
static inline void __syncthreads() { fu_wait(FU_BLOCK_BARRIER); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { (void)mask; fu_wait(FU_WARP_BARRIER); }
static inline void __threadfence_block() {}
static inline void __threadfence() {}
// blocks run one after another: an atomic is a plain read-modify-write
static inline unsigned atomicAdd(unsigned *p, unsigned v) { unsigned old = *p; *p = old + v; return old; }

template <typename T> static inline T fu_shuffle(T v, unsigned src) {
  unsigned long long bits = 0;
  memcpy(&bits, &v, sizeof v);
  fu_lanes[threadIdx.x] = bits;
  fu_wait(FU_WARP_BARRIER);
  unsigned base = threadIdx.x & ~31u;
  unsigned long long got = fu_lanes[base + (src & 31u)];
  fu_wait(FU_WARP_BARRIER);  // every lane has read before any lane writes again
  T out;
  memcpy(&out, &got, sizeof out);
  return out;
}
template <typename T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  (void)mask; (void)width;
  return fu_shuffle(v, (unsigned)src);
}
template <typename T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  (void)mask; (void)width;
  unsigned lane = threadIdx.x & 31u;
  return fu_shuffle(v, lane + delta < 32u ? lane + delta : lane);
}
template <typename T> static inline T __shfl_xor_sync(unsigned mask, T v, int lanemask, int width = 32) {
  (void)mask; (void)width;
  return fu_shuffle(v, (threadIdx.x & 31u) ^ (unsigned)lanemask);
}

static void (*fu_thread_body)(void);
static unsigned fu_order = 1;
static void fu_thread_entry(void) {
  fu_thread_body();
  fu_fibers[fu_current].state = FU_DONE;
}

/**
 * Runs `body` for every thread of one block (threadIdx.x = 0 … bx−1), each on its own stack:
 * round-robin until all are done, releasing a barrier once every live thread of its scope waits.
 */
static void fu_run_block(void (*body)(void), unsigned bx) {
  if (bx > fu_capacity) {
    free(fu_fibers);
    free(fu_stacks);
    fu_fibers = (fu_fiber *)calloc(bx, sizeof(fu_fiber));
    fu_stacks = (char *)malloc(FU_STACK * bx);
    fu_capacity = bx;
  }
  fu_thread_body = body;
  for (unsigned t = 0; t < bx; t++) {
    getcontext(&fu_fibers[t].ctx);
    fu_fibers[t].ctx.uc_stack.ss_sp = fu_stacks + FU_STACK * t;
    fu_fibers[t].ctx.uc_stack.ss_size = FU_STACK;
    fu_fibers[t].ctx.uc_link = &fu_scheduler;
    makecontext(&fu_fibers[t].ctx, fu_thread_entry, 0);
    fu_fibers[t].state = FU_RUN;
  }
  for (;;) {
    bool ran = false;
    // each round visits the threads from another start, alternately upward and downward: code that
    // leans on one thread running before another between barriers (a missing barrier) then reads
    // what it should not, where a fixed order could hide it
    fu_order = fu_order * 1103515245u + 12345u;
    const unsigned start = (fu_order >> 16) % bx;
    const bool down = (fu_order >> 8) & 1u;
    for (unsigned i = 0; i < bx; i++) {
      const unsigned t = down ? (start + bx - i) % bx : (start + i) % bx;
      if (fu_fibers[t].state != FU_RUN) continue;
      ran = true;
      fu_current = t;
      threadIdx.x = t;
      swapcontext(&fu_scheduler, &fu_fibers[t].ctx);
    }
    if (ran) continue;
    // nobody can run: release the warps whose live lanes all wait, else the block's barrier
    bool released = false;
    for (unsigned w = 0; w < bx; w += 32) {
      unsigned end = w + 32 < bx ? w + 32 : bx, waiting = 0, live = 0;
      for (unsigned t = w; t < end; t++) {
        if (fu_fibers[t].state != FU_DONE) live++;
        if (fu_fibers[t].state == FU_WARP_BARRIER) waiting++;
      }
      if (waiting > 0 && waiting == live) {
        for (unsigned t = w; t < end; t++) fu_fibers[t].state = FU_RUN;
        released = true;
      }
    }
    if (released) continue;
    for (unsigned t = 0; t < bx; t++) {
      if (fu_fibers[t].state == FU_BLOCK_BARRIER) {
        fu_fibers[t].state = FU_RUN;
        released = true;
      }
    }
    if (!released) break;  // all done
  }
}
