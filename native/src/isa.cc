#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace tfjs_diffusers {
namespace {

const KernelTable* active = nullptr;
bool mutate_k = false;

// Whether the CPU (and the OS, for the register state) supports an ISA this binary has kernels for.
bool cpu_has(const std::string& isa) {
  if (isa == "scalar") return true;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  // libgcc's checks include the OS enabling the AVX / AVX-512 register state (XGETBV).
  if (isa == "avx2" || isa == "avx512-emulated") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == "avx512") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
#endif
#if defined(__aarch64__)
  if (isa == "neon") return true;  // part of every AArch64 CPU
#endif
  return false;
}

const KernelTable* table_of(const std::string& isa) {
  if (isa == "avx512") return avx512_table();
  if (isa == "avx2") return avx2_table();
  if (isa == "avx512-emulated") return avx512_emulated_table();
  if (isa == "neon") return neon_table();
  if (isa == "scalar") return scalar_table();
  return nullptr;
}

// The ISAs this architecture's build has, best first (auto takes the first the CPU has; avx512-emulated, a test path
// slower than avx2, needs AVX2, so it is never first).
std::vector<std::string> compiled_isas() {
  std::vector<std::string> out;
  for (const char* isa : {"avx512", "avx2", "neon", "avx512-emulated", "scalar"}) {
    if (table_of(isa) != nullptr) out.emplace_back(isa);
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const auto& isa : compiled_isas()) {
    if (cpu_has(isa)) out.push_back(isa);
  }
  return out;
}

std::string select_isa_from_env() {
  const char* mutate = std::getenv("TFJS_DIFFUSERS_NATIVE_MUTATE");
  if (mutate != nullptr && *mutate != '\0') {
    if (std::strcmp(mutate, "gemm-k-order") != 0) {
      return std::string("TFJS_DIFFUSERS_NATIVE_MUTATE=") + mutate + " is not a known mutation (the test-only hook knows gemm-k-order)";
    }
    mutate_k = true;
  }
  const std::vector<std::string> available = available_isas();
  const char* env = std::getenv("TFJS_DIFFUSERS_NATIVE_ISA");
  std::string want = env == nullptr ? "" : env;
  if (want.empty() || want == "auto") {
    active = table_of(available.front());
    return "";
  }
  const std::vector<std::string> compiled = compiled_isas();
  bool known = false;
  for (const auto& isa : compiled) known = known || isa == want;
  if (!known) {
    return "TFJS_DIFFUSERS_NATIVE_ISA=" + want + " is not an ISA of this build (expected one of " + join(compiled) +
           ", or auto)";
  }
  if (!cpu_has(want)) {
    return "TFJS_DIFFUSERS_NATIVE_ISA=" + want + ": this CPU does not support " + want + " (it supports " +
           join(available) + ")";
  }
  active = table_of(want);
  return "";
}

const KernelTable& active_kernels() {
  if (active == nullptr) active = table_of(available_isas().front());
  return *active;
}

bool mutate_gemm_k_order() { return mutate_k; }

std::string mutation_name() { return mutate_k ? "gemm-k-order" : "none"; }

}  // namespace tfjs_diffusers
