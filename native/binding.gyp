{
  # The native kernels for the tfjs `wasm` backend (native/src): our own deterministic convolutions, matrix products
  # and GroupNorm(+SiLU), running in place on the wasm heap. No external libraries: one binary per OS/architecture
  # serves every CPU of it (the AVX-512 / AVX2 kernels are compiled for their ISA by target pragmas inside
  # isa_avx512.cc / isa_avx2.cc, isa_target.h, and chosen at load, isa.cc). Built by scripts/build-native.js.
  # -ffp-contract=off: no multiply-add is contracted except the explicit fused ones of the GEMM (the bits must not
  # depend on the compiler's choices). libstdc++ and libgcc are linked statically (nothing to install but libc).
  "targets": [
    {
      "target_name": "tfjs_diffusers_native",
      "sources": [
        "src/addon.cc", "src/ops.cc", "src/isa.cc", "src/thread_pool.cc",
        "src/isa_avx512.cc", "src/isa_avx2.cc", "src/isa_neon.cc", "src/isa_scalar.cc"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-ffp-contract=off", "-fno-fast-math", "-Wall", "-Wextra",
                    "-Wno-unused-parameter", "-Wno-psabi"],
      "ldflags": ["-static-libstdc++", "-static-libgcc", "-pthread"],
      "defines": ["NAPI_VERSION=8", "TFJSD_SOURCE_HASH=\"<!(node source-hash.js)\""],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-ffp-contract=off"],
        "OTHER_LDFLAGS": []
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/fp:strict"] } }
    }
  ]
}
