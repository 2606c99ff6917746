// Group normalisation of an NHWC float32 tensor with a per-channel affine and optional SiLU, in one pass over the
// output: what diffusers' `GroupNorm` + `SiLU` pairs compute.
#pragma once

#include <cstdint>

namespace tfjs_diffusers {

// x, y: [n, hw, c] (y may alias x); gamma, beta: [c]; groups divides c. The statistics (sums of x and x^2) are
// accumulated in double in one pass, the biased variance as torch.nn.GroupNorm; a second pass writes y.
void group_norm_nhwc(const float* x, const float* gamma, const float* beta, float* y, int64_t n, int64_t hw, int64_t c,
                     int64_t groups, float epsilon, bool silu);

}  // namespace tfjs_diffusers
