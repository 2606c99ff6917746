// Which ISA's kernels run: chosen once, when the addon loads, from TFJS_DIFFUSERS_NATIVE_ISA (avx512 | avx2 | scalar
// on x86-64, neon | scalar on arm64; unset or "auto": the best the CPU has; avx512-emulated, a test path: the AVX-512
// kernels on AVX2 hardware). Every choice gives the same bits.
#pragma once

#include <string>
#include <vector>

#include "kernel_table.h"

namespace tfjs_diffusers {

// The ISAs of this binary the CPU can run, best first (always ending in "scalar").
std::vector<std::string> available_isas();

// Selects the kernels from the environment; returns an error message (empty when fine). Called once at load.
std::string select_isa_from_env();

const KernelTable& active_kernels();

// TFJS_DIFFUSERS_NATIVE_MUTATE=gemm-k-order (read at load): a TEST-ONLY hook that reverses the GEMM reduction
// order, so that a spec can show that the golden hashes catch a changed summation order. Never for real use.
bool mutate_gemm_k_order();
std::string mutation_name();  // "none" or "gemm-k-order"

}  // namespace tfjs_diffusers
