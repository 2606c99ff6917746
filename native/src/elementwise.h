// Element-wise float32 functions shared by every ISA's kernels: each is a fixed sequence of IEEE float32 operations
// (no library calls, no contraction: -ffp-contract=off), so a scalar loop and any vector lane give the same bits.
// Included inside each ISA's own namespace (kernels_impl.h): no includes of its own.

// exp(x) for x clamped to [-87, 88], to about 1 ulp: x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-7
// Taylor polynomial (truncation < 6e-9 relative), 2^n put straight into the exponent bits.
inline float exp_fixed(float x) {
  if (!(x == x)) return x;  // NaN
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504088896341f;
  const float rounded = (t + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick, |t| < 2^22)
  const float r = (x - rounded * 0.693145751953125f) - rounded * 1.42860682030941723212e-6f;  // ln2 = hi + lo
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(rounded) + 127) * 8388608;  // << 23
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

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
