// LOWBIT_X86_KERNEL marks the declaration of a kernel that an x86 tier file defines (`..._avx2.cpp`,
// `..._avx512.cpp`, `..._avxvnni.cpp`, `..._avx512vnni.cpp`).
//
// On x86 it is empty. Elsewhere (aarch64, ...) the build leaves the tier files out, and the mark makes
// the declaration weak: the dispatch tables and tier branches that name these kernels still link, with
// a null address, and are never taken, because best_isa_tier() is `generic` there and set_isa_tier()
// refuses the x86 tiers. Every kernel then runs its portable version (`__ref`, or `__simd128` where
// LOWBIT_HAVE_SIMD128).
#pragma once

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define LOWBIT_X86_KERNEL
#define LOWBIT_HAVE_X86_KERNELS 1
#else
#define LOWBIT_X86_KERNEL __attribute__((weak))
#define LOWBIT_HAVE_X86_KERNELS 0
#endif

// LOWBIT_SIMD128_KERNEL marks the declaration of a kernel of the `generic` tier's 128-bit file
// (`..._simd128.cpp`: SSSE3 on x86, Advanced SIMD on aarch64). It is empty where that file is built and
// weak elsewhere, where the generic tier runs the ref kernels (LOWBIT_HAVE_SIMD128 is 0 there).
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86) || defined(__aarch64__)
#define LOWBIT_SIMD128_KERNEL
#define LOWBIT_HAVE_SIMD128 1
#else
#define LOWBIT_SIMD128_KERNEL __attribute__((weak))
#define LOWBIT_HAVE_SIMD128 0
#endif

// LOWBIT_HAVE_SIMD128_DOTPROD: aarch64 also builds the generic tier's integer GEMVs with the dot-product
// extension (kernels/repack_simd128_dotprod.cpp, namespace kernels::dot), taken where the CPU has it
// (core/cpu.hpp: dotprod_active()).
#if defined(__aarch64__)
#define LOWBIT_HAVE_SIMD128_DOTPROD 1
#else
#define LOWBIT_HAVE_SIMD128_DOTPROD 0
#endif
