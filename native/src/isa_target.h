// Compiles the functions between TFJSD_TARGET_BEGIN("feature,...") and TFJSD_TARGET_END for those instruction-set
// features, whatever the compiler flags: one binary carries every ISA's kernels, and isa.cc runs only those the CPU
// has. GCC: push_options + target; Clang: a target attribute pushed onto every function.
#pragma once

#define TFJSD_PRAGMA(text) _Pragma(#text)
#if defined(__clang__)
#define TFJSD_TARGET_BEGIN(features) TFJSD_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define TFJSD_TARGET_END TFJSD_PRAGMA(clang attribute pop)
#else
#define TFJSD_TARGET_BEGIN(features) TFJSD_PRAGMA(GCC push_options) TFJSD_PRAGMA(GCC target(features))
#define TFJSD_TARGET_END TFJSD_PRAGMA(GCC pop_options)
#endif
