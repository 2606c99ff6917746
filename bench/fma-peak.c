/*
 * The CPU's float32 fused-multiply-add peak on one core, for docs/performance.md's "distance to peak": 12 (AVX2,
 * 256-bit) or 24 (AVX-512) independent FMA chains, long enough to hide the FMA latency on every x86-64 core in use.
 * bench/run.ts compiles it with the system's C compiler and runs one copy per logical CPU at once; it prints
 * `FMA_PEAK <GFLOP/s> <width>` for the widest vector the CPU runs, or `FMA_PEAK none` without AVX2 and FMA.
 *
 *   cc -O2 -o /tmp/fma-peak bench/fma-peak.c && /tmp/fma-peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define ITERS 200000000L

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Independent accumulator chains written out (no array), so that they live in registers at any optimisation level. */
#define CHAINS12(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
#define CHAINS24(F) CHAINS12(F) F(12) F(13) F(14) F(15) F(16) F(17) F(18) F(19) F(20) F(21) F(22) F(23)

__attribute__((target("avx2,fma"))) static double peak256(void) {
  const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-5f);
#define DECL(i) __m256 a##i = _mm256_set1_ps(i * 1e-3f);
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
#define SUM(i) sink += _mm256_cvtss_f32(a##i);
  CHAINS12(DECL)
  const double start = seconds();
  for (long k = 0; k < ITERS; k++) {
    CHAINS12(STEP)
  }
  const double s = seconds() - start;
  float sink = 0;
  CHAINS12(SUM)
  if (sink == 12345.f) puts(""); /* keeps the chains alive */
  return ITERS * 12.0 * 16.0 / s / 1e9;
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx512f"))) static double peak512(void) {
  const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-5f);
#define DECL(i) __m512 a##i = _mm512_set1_ps(i * 1e-3f);
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
#define SUM(i) sink += _mm512_cvtss_f32(a##i);
  CHAINS24(DECL)
  const double start = seconds();
  for (long k = 0; k < ITERS / 2; k++) {
    CHAINS24(STEP)
  }
  const double s = seconds() - start;
  float sink = 0;
  CHAINS24(SUM)
  if (sink == 12345.f) puts("");
  return ITERS / 2 * 24.0 * 32.0 / s / 1e9;
#undef DECL
#undef STEP
#undef SUM
}

int main(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    puts("FMA_PEAK none");
    return 0;
  }
  const double p256 = peak256();
  const double p512 = __builtin_cpu_supports("avx512f") ? peak512() : 0;
  if (p512 > p256) printf("FMA_PEAK %.1f 512\n", p512);
  else printf("FMA_PEAK %.1f 256\n", p256);
  return 0;
}
