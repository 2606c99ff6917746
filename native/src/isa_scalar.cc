// The scalar kernels: plain C++ for the baseline of any architecture, one float at a time, fused multiply-add by
// fmaf (an instruction on AArch64 and on x86 CPUs with FMA through glibc's fmaf; exact in software elsewhere).
// The reference the vector ISAs must match bit for bit, and the path on CPUs with none of them.
#include <cstdint>

#include "kernel_table.h"

namespace tfjs_diffusers {
namespace isa_scalar {
namespace {

struct V {
  using T = float;
  static constexpr int W = 1;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T bcast(float a) { return a; }
  static T fma(T a, T b, T c) { return __builtin_fmaf(a, b, c); }
};
constexpr int MR = 4, NV = 4, KC = 256;
#define ISA_NAME "scalar"
#include "elementwise.h"
#include "kernels_impl.h"
#undef ISA_NAME

}  // namespace
}  // namespace isa_scalar
const KernelTable* scalar_table() { return &isa_scalar::kTable; }
}  // namespace tfjs_diffusers
