// A stand-in for libcuda.so.1 and libnvrtc.so, for testing fusor's cuda backend without a GPU.
// "Device" memory is host memory (a device pointer is a host address, filled with 0xff bytes on
// allocation so reads of unwritten memory show up as NaN or -1). Kernels are fusor's CUDA C
// compiled for the host by g++ (see emulator.ts): NVRTC's "image" is a hash of the source plus
// the source itself; loading it finds the kernel's launcher `t_<hash>` in a prebuilt library
// (MOCK_CUDA_KERNELS, colon-separated .so paths) or compiles it on the spot with the command in
// MOCK_CUDA_COMPILE (called as `<command> <source.cu> <out.so>`). A launcher runs the kernel
// for every block and thread of the grid, one after another.
//
// Environment: MOCK_CUDA_DEVICES (default 1; 0 = no GPU), MOCK_CUDA_MEMORY (bytes per device,
// default 256 MiB), MOCK_CUDA_SMS (default 4), MOCK_CUDA_SYNC_ERROR (a CUresult synchronizing returns).
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef unsigned long long u64;
typedef void (*launcher_t)(void **params, unsigned grid, unsigned block);

static u64 env_num(const char *name, u64 fallback) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 10) : fallback;
}

// ------------------------------------------------------------------ memory accounting

struct block { u64 ptr, bytes; int device; struct block *next; };
static struct block *blocks;
static u64 used[16];
static int current = 0;

static u64 total_memory(void) { return env_num("MOCK_CUDA_MEMORY", 256ull << 20); }

// ------------------------------------------------------------------ driver API

int cuInit(unsigned flags) { (void)flags; return env_num("MOCK_CUDA_DEVICES", 1) == 0 ? 100 : 0; }
int cuDriverGetVersion(int *v) { *v = 12080; return 0; }
int cuDeviceGetCount(int *n) { *n = (int)env_num("MOCK_CUDA_DEVICES", 1); return 0; }
int cuDeviceGet(int *d, int ordinal) {
  if (ordinal < 0 || ordinal >= (int)env_num("MOCK_CUDA_DEVICES", 1)) return 101;
  *d = ordinal;
  return 0;
}
int cuDeviceGetName(char *name, int len, int dev) { snprintf(name, len, "Fusor Emulated GPU %d", dev); return 0; }
int cuDeviceGetAttribute(int *v, int attr, int dev) {
  (void)dev;
  switch (attr) {
    case 16: *v = (int)env_num("MOCK_CUDA_SMS", 4); return 0;
    case 75: *v = 9; return 0;
    case 76: *v = 0; return 0;
    default: return 1;
  }
}
int cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void)dev; *bytes = total_memory(); return 0; }
int cuDevicePrimaryCtxRetain(void **ctx, int dev) { *ctx = (void *)(intptr_t)(dev + 1); return 0; }
int cuCtxSetCurrent(void *ctx) { current = (int)(intptr_t)ctx - 1; return 0; }
// MOCK_CUDA_SYNC_ERROR=<code>: synchronizing reports that error (a kernel that faulted)
int cuCtxSynchronize(void) { return (int)env_num("MOCK_CUDA_SYNC_ERROR", 0); }

int cuMemAlloc_v2(u64 *dptr, size_t bytes) {
  if (bytes == 0) return 1;
  if (used[current] + bytes > total_memory()) return 2;
  void *p = malloc(bytes);
  if (!p) return 2;
  memset(p, 0xff, bytes);
  struct block *b = malloc(sizeof *b);
  b->ptr = (u64)(uintptr_t)p; b->bytes = bytes; b->device = current; b->next = blocks;
  blocks = b;
  used[current] += bytes;
  *dptr = b->ptr;
  return 0;
}
int cuMemFree_v2(u64 dptr) {
  for (struct block **b = &blocks; *b; b = &(*b)->next) {
    if ((*b)->ptr == dptr) {
      struct block *dead = *b;
      *b = dead->next;
      used[dead->device] -= dead->bytes;
      free((void *)(uintptr_t)dead->ptr);
      free(dead);
      return 0;
    }
  }
  return 1;
}
int cuMemGetInfo_v2(size_t *free_, size_t *total) { *total = total_memory(); *free_ = total_memory() - used[current]; return 0; }
int cuMemcpyHtoD_v2(u64 dst, const void *src, size_t n) { memcpy((void *)(uintptr_t)dst, src, n); return 0; }
int cuMemcpyDtoH_v2(void *dst, u64 src, size_t n) { memcpy(dst, (const void *)(uintptr_t)src, n); return 0; }
int cuMemcpyDtoD_v2(u64 dst, u64 src, size_t n) { memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n); return 0; }
int cuMemcpyPeer(u64 dst, void *dctx, u64 src, void *sctx, size_t n) { (void)dctx; (void)sctx; memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n); return 0; }

// ------------------------------------------------------------------ modules and launches

static const char MAGIC[] = "FUSORMOCK:";

static void *find_prebuilt(const char *symbol) {
  const char *list = getenv("MOCK_CUDA_KERNELS");
  if (!list) return NULL;
  char *copy = strdup(list), *save = NULL;
  void *found = NULL;
  for (char *path = strtok_r(copy, ":", &save); path && !found; path = strtok_r(NULL, ":", &save)) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib) found = dlsym(lib, symbol);
  }
  free(copy);
  return found;
}

static void *compile_now(const char *hash, const char *source, const char *symbol) {
  const char *cmd = getenv("MOCK_CUDA_COMPILE");
  if (!cmd) return NULL;
  char src[512], out[512], line[2048];
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(src, sizeof src, "%s/fusor-mock-%d-%s.cu", tmp, (int)getpid(), hash);
  snprintf(out, sizeof out, "%s/fusor-mock-%d-%s.so", tmp, (int)getpid(), hash);
  FILE *f = fopen(src, "w");
  if (!f) return NULL;
  fputs(source, f);
  fclose(f);
  snprintf(line, sizeof line, "%s '%s' '%s'", cmd, src, out);
  if (system(line) != 0) return NULL;
  void *lib = dlopen(out, RTLD_NOW | RTLD_LOCAL);
  return lib ? dlsym(lib, symbol) : NULL;
}

struct module { char hash[17]; launcher_t launcher; };

int cuModuleLoadData(void **mod, const void *image) {
  const char *img = image;
  if (strncmp(img, MAGIC, strlen(MAGIC)) != 0) return 200;  // CUDA_ERROR_INVALID_IMAGE
  struct module *m = calloc(1, sizeof *m);
  memcpy(m->hash, img + strlen(MAGIC), 16);
  char symbol[32];
  snprintf(symbol, sizeof symbol, "t_%s", m->hash);
  void *f = find_prebuilt(symbol);
  if (!f) f = compile_now(m->hash, img + strlen(MAGIC) + 17, symbol);
  if (!f) { free(m); return 218; }  // CUDA_ERROR_INVALID_PTX
  m->launcher = (launcher_t)f;
  *mod = m;
  return 0;
}
int cuModuleGetFunction(void **fn, void *mod, const char *name) { (void)name; *fn = mod; return 0; }

static unsigned last_grid, last_block, launches;
int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   void *stream, void **params, void **extra) {
  (void)stream; (void)extra; (void)shared;
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || gx == 0 || bx == 0 || bx > 1024) return 1;
  last_grid = gx; last_block = bx; launches++;
  ((struct module *)fn)->launcher(params, gx, bx);
  return 0;
}
/** For tests: the last launch's grid and block sizes, and how many launches there were. */
void mock_last_launch(unsigned *grid, unsigned *block, unsigned *count) { *grid = last_grid; *block = last_block; *count = launches; }

// ------------------------------------------------------------------ events (wall-clock time)

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int cuEventCreate(void **e, unsigned flags) { (void)flags; *e = calloc(1, sizeof(double)); return 0; }
int cuEventRecord(void *e, void *stream) { (void)stream; *(double *)e = now_ms(); return 0; }
int cuEventSynchronize(void *e) { (void)e; return 0; }
/** Launches run before they return, so an event is complete as soon as it is recorded. */
int cuEventQuery(void *e) { (void)e; return 0; }
int cuEventElapsedTime(float *ms, void *a, void *b) { *ms = (float)(*(double *)b - *(double *)a); return 0; }
int cuEventDestroy_v2(void *e) { free(e); return 0; }

int cuGetErrorName(int err, const char **name) {
  switch (err) {
    case 0: *name = "CUDA_SUCCESS"; return 0;
    case 1: *name = "CUDA_ERROR_INVALID_VALUE"; return 0;
    case 2: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
    case 100: *name = "CUDA_ERROR_NO_DEVICE"; return 0;
    case 101: *name = "CUDA_ERROR_INVALID_DEVICE"; return 0;
    case 200: *name = "CUDA_ERROR_INVALID_IMAGE"; return 0;
    case 218: *name = "CUDA_ERROR_INVALID_PTX"; return 0;
    case 700: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return 0;
    default: *name = NULL; return 1;
  }
}
int cuGetErrorString(int err, const char **text) {
  switch (err) {
    case 2: *text = "out of memory"; return 0;
    case 100: *text = "no CUDA-capable device is detected"; return 0;
    case 218: *text = "a PTX JIT compilation failed"; return 0;
    default: *text = NULL; return 1;
  }
}

// ------------------------------------------------------------------ NVRTC

struct program { char *source; char *image; size_t image_size; const char *log; };

static void fnv1a(const char *s, char out[17]) {
  u64 h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) { h ^= *p; h *= 0x100000001b3ull; }
  snprintf(out, 17, "%016llx", h);
}

int nvrtcVersion(int *major, int *minor) { *major = 12; *minor = 8; return 0; }
const char *nvrtcGetErrorString(int r) { return r == 0 ? "NVRTC_SUCCESS" : r == 6 ? "NVRTC_ERROR_COMPILATION" : "NVRTC_ERROR"; }
int nvrtcCreateProgram(void **prog, const char *src, const char *name, int nh, const char **h, const char **n) {
  (void)name; (void)nh; (void)h; (void)n;
  struct program *p = calloc(1, sizeof *p);
  p->source = strdup(src);
  *prog = p;
  return 0;
}
int nvrtcDestroyProgram(void **prog) {
  struct program *p = *prog;
  free(p->source); free(p->image); free(p);
  *prog = NULL;
  return 0;
}
static unsigned compiles;
/** For tests: how many programs NVRTC compiled. */
unsigned mock_nvrtc_compiles(void) { return compiles; }
int nvrtcCompileProgram(void *prog, int n, const char **options) {
  struct program *p = prog;
  compiles++;
  int arch_ok = 0;
  for (int i = 0; i < n; i++) if (strcmp(options[i], "--gpu-architecture=sm_90") == 0) arch_ok = 1;
  if (!arch_ok) { p->log = "mock nvrtc: expected --gpu-architecture=sm_90 for compute capability 9.0"; return 6; }
  if (strstr(p->source, "FUSOR_MOCK_COMPILE_ERROR")) { p->log = "kernel.cu(1): error: mock compile error"; return 6; }
  char hash[17];
  fnv1a(p->source, hash);
  size_t len = strlen(MAGIC) + 17 + strlen(p->source) + 1;
  p->image = malloc(len);
  snprintf(p->image, len, "%s%s\n%s", MAGIC, hash, p->source);
  p->image_size = len;
  return 0;
}
int nvrtcGetProgramLogSize(void *prog, size_t *size) { struct program *p = prog; *size = p->log ? strlen(p->log) + 1 : 1; return 0; }
int nvrtcGetProgramLog(void *prog, char *log) { struct program *p = prog; strcpy(log, p->log ? p->log : ""); return 0; }
int nvrtcGetCUBINSize(void *prog, size_t *size) { *size = ((struct program *)prog)->image_size; return 0; }
int nvrtcGetCUBIN(void *prog, char *out) { struct program *p = prog; memcpy(out, p->image, p->image_size); return 0; }
int nvrtcGetPTXSize(void *prog, size_t *size) { return nvrtcGetCUBINSize(prog, size); }
int nvrtcGetPTX(void *prog, char *out) { return nvrtcGetCUBIN(prog, out); }
int nvrtcGetNumSupportedArchs(int *n) { *n = 3; return 0; }
int nvrtcGetSupportedArchs(int *archs) { archs[0] = 80; archs[1] = 86; archs[2] = 90; return 0; }
