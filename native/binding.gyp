{
  # Optional native kernels for the tfjs `wasm` backend: oneDNN (Debian/Ubuntu `libdnnl-dev`) convolutions and
  # matmuls, and a fused GroupNorm(+SiLU), running in place on the wasm heap. Built by scripts/build-native.js.
  "targets": [
    {
      "target_name": "tfjs_diffusers_native",
      "sources": ["src/addon.cc", "src/dnnl_ops.cc", "src/group_norm.cc", "src/winograd.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp", "-fno-trapping-math", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-psabi"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
