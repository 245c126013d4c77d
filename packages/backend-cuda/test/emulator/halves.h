// 16-bit floats (float16, bfloat16) to and from float, rounding to nearest even: shared by the
// emulator's mock cuBLAS and @fusor/distributed's mock NCCL (packages/distributed/test).
#ifndef FUSOR_EMULATOR_HALVES_H
#define FUSOR_EMULATOR_HALVES_H
#include <math.h>
#include <stdint.h>
#include <string.h>

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
  float f;
  if (e == 0) {
    f = ldexpf((float)m, -24);
    return sign ? -f : f;
  }
  x = e == 31 ? sign | 0x7f800000 | (m << 13) : sign | ((e + 112) << 23) | (m << 13);
  memcpy(&f, &x, 4);
  return f;
}

static uint16_t float_to_half(float f) {
  uint32_t x, ax, sign;
  memcpy(&x, &f, 4);
  sign = (x >> 16) & 0x8000;
  ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return (uint16_t)(sign | 0x7e00);
  if (ax >= 0x477ff000) return (uint16_t)(sign | 0x7c00);  // 65520 and up round to infinity
  if (ax < 0x38800000) {                                  // below 2^-14: a subnormal half
    float a;
    memcpy(&a, &ax, 4);
    return (uint16_t)(sign | (uint32_t)nearbyintf(a * 16777216.0f));
  }
  uint32_t r = ax - 0x38000000;
  r += 0xfff + ((r >> 13) & 1);
  return (uint16_t)(sign | (r >> 13));
}

static float bf16_to_float(uint16_t b) {
  uint32_t x = (uint32_t)b << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static uint16_t float_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

#endif
