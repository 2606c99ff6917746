// Element-wise float32 functions shared by every ISA's kernels: each is a fixed sequence of IEEE float32 operations
// (no library calls, no contraction: -ffp-contract=off), so a scalar loop and any vector lane give the same bits.
// Included inside each ISA's own namespace (kernels_impl.h): no includes of its own.

// 16 float32 lanes (GCC/Clang vector extensions: the compiler maps them onto the TU's ISA) and their int32 twin.
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

// 2^n for n an integral float in [-126, 127], put straight into the exponent bits: one float, or 16 lanes.
inline float pow2_of(float n) {
  const int32_t bits = (static_cast<int32_t>(n) + 127) * 8388608;  // << 23
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return scale;
}
inline f32x16 pow2_of(f32x16 n) { return (f32x16)((__builtin_convertvector(n, i32x16) + 127) * 8388608); }

// exp(x) for x clamped to [-87, 88], to about 1 ulp: x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-7
// Taylor polynomial (truncation < 6e-9 relative), times 2^n. One definition for a float and for 16 lanes (F is float
// or f32x16; `F{} + c` is c, or c in every lane), so the scalar tail and the vector body give the same bits. A NaN
// lane stays NaN (every comparison is false, so p is NaN); the float form returns it before the conversion to int.
template <typename F>
inline F exp_poly(F x) {
  const F lo = F{} + -87.0f, hi = F{} + 88.0f;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const F t = x * 1.44269504088896341f;
  const F rounded = (t + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick, |t| < 2^22)
  const F r = (x - rounded * 0.693145751953125f) - rounded * 1.42860682030941723212e-6f;  // ln2 = hi + lo
  F p = F{} + 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * pow2_of(rounded);
}

inline float exp_fixed(float x) { return x == x ? exp_poly(x) : x; }
inline f32x16 exp16(f32x16 x) { return exp_poly(x); }

// The fused activations of tfjs (its wasm/cpu kernels' definitions), applied after the bias.
inline float activate(float v, Activation a, float alpha) {
  switch (a) {
    case Activation::kLinear:
      return v;
    case Activation::kRelu:
      return v < 0.0f ? 0.0f : v;
    case Activation::kRelu6:
      return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    case Activation::kSigmoid:
      return 1.0f / (1.0f + exp_fixed(-v));
    case Activation::kElu:
      return v > 0.0f ? v : exp_fixed(v) - 1.0f;
    case Activation::kLeakyRelu:
      return v < 0.0f ? alpha * v : v;
  }
  return v;
}
